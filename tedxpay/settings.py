"""tedxpay settings: one module, driven by environment variables (django-environ).

With no configuration at all: SQLite under var/, DEBUG off (so a forgotten variable never
exposes debug pages; `make run` and the tests set DEBUG=true), the built-in Xendit simulator
only with DEBUG on, Celery on kombu's filesystem
transport and emails written to files under var/. Production sets DATABASE_URL,
CELERY_BROKER_URL, real Xendit keys and an Anymail ESP. Every variable is listed, with a
comment, in .env.example.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# A local .env is read when present; real environment variables win over it.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("TEDXPAY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me" if DEBUG else None)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Public base URL of this site: used for links in emails and Xendit redirect URLs.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "anymail",
    "axes",
    "tedxpay.core",
    "tickets",
    "vouchers",
    "orders",
    "payments",
    "payments.gateways.simulator",
    "notifications",
    "reconciliation",
    "checkin",
]

MIDDLEWARE = [
    "tedxpay.core.request_id.RequestIdMiddleware",
    # One line per request, probes and refusals included (after the request id is set).
    "tedxpay.core.access_log.AccessLogMiddleware",
    # /healthz, /readyz and /metrics are answered before the Host header is validated.
    "tedxpay.core.probes.ProbeMiddleware",
    # /api/: body size refused before reading, every error in the JSON error body.
    "tedxpay.core.api_guard.ApiGuardMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's own, skipped for /api/ requests, which use none of them (page_middleware.py).
    "tedxpay.core.page_middleware.SessionMiddleware",
    # Indonesian unless the buyer chose English; English on /api/ (tedxpay/core/language.py).
    "tedxpay.core.language.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Kept for /api/ too (every API view is CSRF-exempt, so it costs little), and named as
    # Django's, which `check --deploy` looks for.
    "django.middleware.csrf.CsrfViewMiddleware",
    "tedxpay.core.page_middleware.AuthenticationMiddleware",
    "tedxpay.core.page_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: refuses a locked-out admin login.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tedxpay.urls"
WSGI_APPLICATION = "tedxpay.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# sqlite:///… by default; DATABASE_URL=mysql://user:pass@host:port/name for MySQL/MariaDB.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    DATABASES["default"]["OPTIONS"] = {
        "charset": "utf8mb4",
        # Strict mode: a value that does not fit is an error, never silently truncated.
        "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        # READ COMMITTED: the conditional stock UPDATE sees the latest committed row and
        # takes no gap locks (docs/architecture.md, "Stock without oversell").
        "isolation_level": "read committed",
    }
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # The web server and the Celery worker write to the same file in `make run`:
        # take the write lock at BEGIN and wait for it instead of failing at once.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (API throttling) -----------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://tedxpay")}

# --- Operations -------------------------------------------------------------------------
# Bearer token a Prometheus scraper must send to /metrics. The figures include revenue, so
# with DEBUG off a token is required: set one, or switch metrics off with
# METRICS_ENABLED=false. With DEBUG on and no token, /metrics is open.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
METRICS_TOKEN = env("METRICS_TOKEN", default="")

# --- Auth, i18n, static -----------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Pages and emails are Indonesian unless the buyer picks English (the switch on every page
# sets LANGUAGE_COOKIE_NAME); the back office and the API speak English. Translations live
# in locale/ (.po in git; the .mo files are compiled by `make run`, the tests and the image).
LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_NAME = "tedxpay_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Stored in UTC. Pages, emails and exports show an event's times in that event's own zone
# (WIB, WITA or WIT: Event.time_zone); Jakarta's where no event is concerned.
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (production) --------------------------------------------------------------
# How many proxies of ours (load balancer, ingress) stand in front of the app and append
# to X-Forwarded-For. 0: the header is ignored and the socket's peer is the client. Every
# throttle, hoarding cap and the admin lockout count per this address
# (tedxpay/core/client_address.py); too high a number lets clients choose their address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# The header a TLS-terminating proxy of ours sets to "https", e.g. X-Forwarded-Proto. Only
# when one does (and overwrites what the client sent): otherwise any client could claim
# HTTPS. Unset: the header is ignored.
_PROXY_SSL_HEADER = env("SECURE_PROXY_SSL_HEADER", default="")
if _PROXY_SSL_HEADER:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
# Plain HTTP is redirected to HTTPS with DEBUG off. The probes and /metrics are answered
# before the redirect (tedxpay/core/probes.py); the exemption below keeps them so should
# the middleware order change.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS: a year by default in production. Preloading (hstspreload.org) is the domain
# owner's decision and hard to undo, so it is off unless asked for.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SILENCED_SYSTEM_CHECKS = [
    # security.W021 asks for HSTS preload; see SECURE_HSTS_PRELOAD above.
    "security.W021",
]
# Content-Security-Policy (django-csp): scripts only from our own static files, never
# inline, so injected markup cannot run. Inline styles stay allowed: the admin and our
# pages set a few `style` attributes, and a style cannot run code. The API docs page is
# served with its script in a separate file (SpectacularSwaggerSplitView) and Swagger UI
# from our static files (drf-spectacular-sidecar). No form-action: the checkout form's
# answer redirects to Xendit's payment page, which form-action would block.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # A camera stream shown in a <video> (the door check-in page).
        "media-src": ["'self'", "blob:"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Admin login lockout (django-axes) -----------------------------------------------
# After AXES_FAILURE_LIMIT wrong passwords for one username, or from one client address,
# that username (from anywhere) and that address (for any username) are refused for
# AXES_COOLOFF_MINUTES. A username lock lets someone who knows the name keep that staff
# member out for the cool-off; a superuser lifts any lock at once in the admin ("Access
# attempts": delete the rows) or with `manage.py axes_reset_username <name>` /
# `axes_reset_ip <address>`.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "tedxpay.core.client_address.client_address"
# Axes' own log lines would name every username tried.
AXES_VERBOSE = False

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Refuses hostile bodies (too deep, too large, endless numbers) with 400/413.
    "DEFAULT_PARSER_CLASSES": ["tedxpay.core.json_body.GuardedJSONParser"],
    "EXCEPTION_HANDLER": "tedxpay.core.exception_handler.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_THROTTLE_RATE", default="600/min"),
        "anon": env("API_ANON_THROTTLE_RATE", default="300/min"),
        # Checkout form submissions per client address (page views are not counted). Many
        # buyers may share one mobile-carrier address: this only slows a script down; the
        # hoarding caps below are what bound the seats it can hold.
        "checkout": env("CHECKOUT_THROTTLE_RATE", default="20/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "tedxpay API",
    "DESCRIPTION": "Ticket sales and Xendit payments for TEDx events in Indonesia.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar), not a CDN: the
    # Content-Security-Policy allows scripts from 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# The largest JSON body the API reads (a callback is about 2 KB, an order well under 10 KB);
# larger is refused with 413 before it is read.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
# Seconds a worker process keeps an API key, and the tickets of an order, it has read
# (tedxpay/core/process_cache.py): a key revoked, or a price changed, in the admin reaches
# the other processes within these seconds. 0 reads the database every time.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5)
TICKET_CACHE_SECONDS = env.float("TICKET_CACHE_SECONDS", default=5)
# Idempotency keys (tedxpay/core/idempotency.py): the Idempotency-Key of POST /api/orders
# and the checkout form's one-time token. How long a key's outcome is kept for replay (and
# a checkout form stays valid), and after how long a request still "in flight" is presumed
# dead (its worker crashed) so that a retry may take the key over. The second must exceed
# the slowest order placement: DB + Xendit create (connect + read timeouts) + one look-up.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IDEMPOTENCY_IN_FLIGHT_TIMEOUT = timedelta(minutes=2)

# --- Orders -----------------------------------------------------------------------------
# How long a PENDING order holds its seats (and how long its Xendit invoice lives).
ORDER_TTL = timedelta(minutes=env.int("ORDER_TTL_MINUTES", default=30))
# Seconds instead of minutes, for chaos runs that must see orders expire (bench/chaos.py).
if env("ORDER_TTL_SECONDS", default=""):
    ORDER_TTL = timedelta(seconds=env.int("ORDER_TTL_SECONDS"))
CURRENCY = "IDR"
# The smallest total an order may ask the buyer to pay (above 0, which is a free order):
# Xendit offers no channel below this (e-wallets start at Rp 100, QRIS at 1,500, virtual
# accounts and shops at 10,000) and refuses the invoice with NO_COLLECTION_METHODS_ERROR.
# A voucher that would leave less is refused before anything is written (docs/vouchers.md).
MINIMUM_CHARGE = env.int("MINIMUM_CHARGE", default=100)
# The largest total: Xendit's virtual accounts take up to Rp 50.000.000.000 and no channel
# more (MAXIMUM_TRANSFER_AMOUNT_ERROR). An order above it is refused before anything is
# written, and the ticket form refuses a price above it.
MAXIMUM_CHARGE = env.int("MAXIMUM_CHARGE", default=50_000_000_000)
# Hoarding caps on unpaid (PENDING) orders, orders/holds.py and docs/security.md; 0 turns a
# cap off. Seats per client address (checkout), pending orders per event per email and per
# phone (a second checkout leads to the first order: orders/placed_here.py), seats per API key.
HOLD_MAX_SEATS_PER_ADDRESS = env.int("HOLD_MAX_SEATS_PER_ADDRESS", default=20)
HOLD_MAX_PENDING_ORDERS_PER_BUYER = env.int("HOLD_MAX_PENDING_ORDERS_PER_BUYER", default=1)
HOLD_MAX_SEATS_PER_API_KEY = env.int("HOLD_MAX_SEATS_PER_API_KEY", default=500)
# One email with the payment link this long before an unpaid order's seats go back (0: none).
PAYMENT_REMINDER_BEFORE = timedelta(minutes=env.int("PAYMENT_REMINDER_MINUTES_BEFORE", default=10))
# "Find my tickets" and "email me the link": at most this many emails per address, and
# requests per client address, per hour (the same answer is shown either way).
ORDER_LINKS_PER_EMAIL_PER_HOUR = env.int("ORDER_LINKS_PER_EMAIL_PER_HOUR", default=3)
ORDER_LINKS_PER_CLIENT_PER_HOUR = env.int("ORDER_LINKS_PER_CLIENT_PER_HOUR", default=20)
# The door page undoes only its volunteer's own admissions of the last this many minutes
# (a wrong scan, right after it); other undos are Finance's, in the admin.
DOOR_UNDO_MINUTES = env.int("DOOR_UNDO_MINUTES", default=10)
# Voucher codes refused at the checkout per client address and hour before no code from
# it is looked up (orders/voucher_guesses.py; 0: no limit).
VOUCHER_MISSES_PER_HOUR = env.int("VOUCHER_MISSES_PER_HOUR", default=30)

# --- Xendit -----------------------------------------------------------------------------
XENDIT_SIMULATOR_ENABLED = env.bool("XENDIT_SIMULATOR_ENABLED", default=DEBUG)
XENDIT_SECRET_KEY = env("XENDIT_SECRET_KEY", default="xnd_development_simulator" if XENDIT_SIMULATOR_ENABLED else "")
XENDIT_BASE_URL = env(
    "XENDIT_BASE_URL",
    default=f"{SITE_URL}/_xendit" if XENDIT_SIMULATOR_ENABLED else "https://api.xendit.co",
).rstrip("/")
XENDIT_CALLBACK_TOKEN = env(
    "XENDIT_CALLBACK_TOKEN", default="simulator-callback-token" if XENDIT_SIMULATOR_ENABLED else ""
)
# Where the simulator delivers invoice callbacks (Xendit's is set in its dashboard).
XENDIT_CALLBACK_URL = env("XENDIT_CALLBACK_URL", default=f"{SITE_URL}/api/payment-callback")
# The gateway class, by dotted path (payments/gateways/base.py::get_gateway). Not from the
# environment: there is one implementation, and the simulator is chosen by XENDIT_BASE_URL.
PAYMENT_GATEWAY = "payments.gateways.xendit.XenditGateway"
# Where the simulator sends refund webhooks (Xendit's dashboard has a separate refund URL).
XENDIT_REFUND_CALLBACK_URL = env("XENDIT_REFUND_CALLBACK_URL", default=f"{SITE_URL}/api/refund-callback")
XENDIT_CONNECT_TIMEOUT = env.float("XENDIT_CONNECT_TIMEOUT", default=3.05)
XENDIT_READ_TIMEOUT = env.float("XENDIT_READ_TIMEOUT", default=15.0)
XENDIT_MERCHANT_NAME = env("XENDIT_MERCHANT_NAME", default="TEDx Indonesia")
# Simulator fault injection (dev, tests, benchmarks; docs/xendit-simulator.md). Always-on
# faults as JSON, e.g. '[{"kind": "create", "mode": "error", "status": 503}]' (kinds:
# create/get/list/expire/refund/refund_get/any; modes: error/non_json/malformed/delay/hang),
# and latency added to every
# simulated Xendit API call. Per-test faults go through POST /_xendit/simulate/faults.
XENDIT_SIMULATOR_FAULTS = env.json("XENDIT_SIMULATOR_FAULTS", default=[])
XENDIT_SIMULATOR_LATENCY_MS = env.int("XENDIT_SIMULATOR_LATENCY_MS", default=0)
# The simulator over time (docs/xendit-simulator.md): seconds between ticks of the
# in-process simulator's clock (self-expiry with an EXPIRED callback, callback retries);
# 0: off (tests tick it themselves; the standalone command has its own --clock). And the
# retry intervals after each failed callback delivery: Xendit's with auto-retry switched
# on by default, comma-separated seconds to compress them, "" for none (Xendit's default).
XENDIT_SIMULATOR_CLOCK_SECONDS = env.float("XENDIT_SIMULATOR_CLOCK_SECONDS", default=0)
XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS = [
    float(seconds)
    for seconds in env.list(
        "XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS", default=["900", "2700", "7200", "10800", "21600", "43200"]
    )
    if str(seconds).strip()
]
if not DEBUG and XENDIT_SIMULATOR_ENABLED and XENDIT_SECRET_KEY.startswith("xnd_production_"):
    raise ImproperlyConfigured("The Xendit simulator must not run with a live Xendit key.")
if not DEBUG and not (XENDIT_SECRET_KEY and XENDIT_CALLBACK_TOKEN):
    # Fail at start, not with a 502 on every order and a 401 on every callback.
    raise ImproperlyConfigured("XENDIT_SECRET_KEY and XENDIT_CALLBACK_TOKEN must be set when DEBUG is off.")
if not DEBUG and METRICS_ENABLED and not METRICS_TOKEN:
    # /metrics shows revenue: never open to the internet by omission.
    raise ImproperlyConfigured("METRICS_TOKEN must be set when DEBUG is off (or set METRICS_ENABLED=false).")

# --- Celery -----------------------------------------------------------------------------
# Worker + beat (`celery -A tedxpay worker -B`, or separate `worker` and `beat` processes in
# production). Redis in production (CELERY_BROKER_URL=redis://host:6379/0); with nothing
# set, kombu's filesystem transport under var/ so `make run` needs no server. See
# docs/operations.md.
# "localhost" means nothing to the filesystem transport, but without it kombu logs a warning
# on every connection.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_FOLDER = VAR_DIR / "celery" / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_FOLDER.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # One folder in and out: the worker reads what the web process writes.
        "data_folder_in": str(CELERY_BROKER_FOLDER),
        "data_folder_out": str(CELERY_BROKER_FOLDER),
        # Exchange tables (remote control, fanout); kombu's default is ./control, relative
        # to whatever directory the process happened to start in.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # An unacknowledged message (acks_late task running, or a retry waiting for its
        # countdown) goes back to the queue after this long. Keep it above the longest
        # retry countdown (NOTIFICATION_RETRY_MAX_DELAY) and task time limit, or Redis
        # hands the same message to a second worker.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# A task that hangs (a stuck SMTP or Xendit connection) is interrupted, then killed.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# One message at a time per process: a slow email does not hold others hostage.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Log through Django's LOGGING (request-id format) instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How often the payments sweep looks at the payments whose invoice needs it (pending ones,
# invoices our expiry or cancel left open, invoices whose create had an unknown outcome),
# and its own time limits: its time budget is the soft one less one worst gateway call
# (orders/checkout/sweeps.py).
PAYMENTS_SWEEP_INTERVAL_SECONDS = env.int("PAYMENTS_SWEEP_INTERVAL_SECONDS", default=300)
PAYMENTS_SWEEP_SOFT_TIME_LIMIT = 120
PAYMENTS_SWEEP_TIME_LIMIT = 150
# How often PENDING orders past their expiry time are expired (seats back).
EXPIRY_SWEEP_INTERVAL_SECONDS = env.int("EXPIRY_SWEEP_INTERVAL_SECONDS", default=60)
# How often emails whose send was lost (broker down, a killed worker) are queued again:
# with the 65 s claim timeout, an email owed when a worker is killed goes out about a
# minute later (docs/operations.md).
NOTIFICATION_SWEEP_INTERVAL_SECONDS = env.int("NOTIFICATION_SWEEP_INTERVAL_SECONDS", default=20)
CELERY_BEAT_SCHEDULE = {
    # `expires`: a run the worker could not start in time is dropped, not queued up behind
    # others; the next run does the same work.
    "expire-stale-orders": {
        "task": "orders.tasks.order_expire_stale_task",
        "schedule": float(EXPIRY_SWEEP_INTERVAL_SECONDS),
        "options": {"expires": EXPIRY_SWEEP_INTERVAL_SECONDS * 0.9},
    },
    # Payments whose invoice needs looking at: pending ones (a callback may be lost), and
    # those of orders we expired or cancelled whose invoice is still open at Xendit.
    "sweep-payments": {
        "task": "orders.tasks.payments_sweep_task",
        "schedule": float(PAYMENTS_SWEEP_INTERVAL_SECONDS),
        "options": {"expires": PAYMENTS_SWEEP_INTERVAL_SECONDS * 0.9},
    },
    "send-payment-reminders": {
        "task": "notifications.tasks.payment_reminders_queue_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "purge-idempotency-keys": {
        "task": "tedxpay.core.tasks.idempotency_key_purge_task",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    # Work queued after a commit is lost when the broker refuses it at that moment (the
    # change itself stands): the sweeps find it from the database and do it later. Emails
    # still `pending` minutes after they were owed (or left `sending` by a dead sender) are
    # queued again; invoices left open are expired by the payments sweep above.
    "requeue-stalled-notifications": {
        "task": "notifications.tasks.notifications_requeue_stalled_task",
        "schedule": float(NOTIFICATION_SWEEP_INTERVAL_SECONDS),
        "options": {"expires": NOTIFICATION_SWEEP_INTERVAL_SECONDS * 0.9},
    },
    # The day before, Jakarta time, at 01:00 WIB (18:00 UTC): every invoice of the day
    # beside our payments (reconciliation/services.py).
    "reconciliation-report-daily": {
        "task": "reconciliation.tasks.reconciliation_report_create_task",
        "schedule": crontab(hour=18, minute=0),
        "options": {"expires": 3 * 3600},
    },
    # Refunds whose create call was lost are asked again (same idempotency key); pending
    # ones whose webhook never came are read from Xendit (orders/checkout/refunds.py).
    "resume-refunds": {
        "task": "orders.tasks.refunds_resume_task",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
    # Event cancellations whose worker died mid-run are started again.
    "resume-event-cancellations": {
        "task": "orders.tasks.event_cancellations_resume_task",
        "schedule": 120.0,
        "options": {"expires": 110},
    },
}
# A payment that arrives for seats the order no longer has (paid after expiry with the
# seats gone, paid after cancel) is refunded through Xendit at once instead of waiting for
# finance. Off by default: finance may prefer to offer the buyer other seats first.
REFUND_LATE_PAYMENTS_AUTOMATICALLY = env.bool("REFUND_LATE_PAYMENTS_AUTOMATICALLY", default=False)
# How many stale orders one sweep expires at most (the next sweep, a minute later, goes on).
ORDER_EXPIRY_BATCH_SIZE = env.int("ORDER_EXPIRY_BATCH_SIZE", default=100)
ORDER_EXPIRY_MAX_PER_RUN = env.int("ORDER_EXPIRY_MAX_PER_RUN", default=2000)
# Email retries: exponential backoff from the base, capped; after the last one the
# notification is marked failed (visible in the admin, which can resend it).
NOTIFICATION_MAX_RETRIES = env.int("NOTIFICATION_MAX_RETRIES", default=5)
NOTIFICATION_RETRY_BASE_DELAY = env.int("NOTIFICATION_RETRY_BASE_DELAY", default=30)
NOTIFICATION_RETRY_MAX_DELAY = env.int("NOTIFICATION_RETRY_MAX_DELAY", default=1800)
# The email send task's own time limits (seconds): the claim timeout that lets another
# sender take over from a killed one is derived from the hard one (notifications/services.py).
NOTIFICATION_SEND_SOFT_TIME_LIMIT = 45
NOTIFICATION_SEND_TIME_LIMIT = 55

# --- Email ------------------------------------------------------------------------------
# Files under var/mail by default; production sets EMAIL_BACKEND to an Anymail backend
# (e.g. anymail.backends.mailgun.EmailBackend) and its ANYMAIL_* credentials.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
if env("EMAIL_URL", default=""):
    # An SMTP relay instead of an ESP API, e.g. smtp+tls://user:password@smtp.example.org:587
    # (sets EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER/PASSWORD, EMAIL_USE_TLS).
    globals().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="TEDx Tickets <tickets@tedxpay.local>")
ANYMAIL = {key.removeprefix("ANYMAIL_"): value for key, value in env.ENVIRON.items() if key.startswith("ANYMAIL_")}
# A send must finish well inside the send task's soft time limit (45 s) or the task is
# interrupted mid-send. Anymail's HTTP timeout (default 30 s) must be a number, not the
# string an env var gives; SMTP uses EMAIL_TIMEOUT.
ANYMAIL["REQUESTS_TIMEOUT"] = env.float("ANYMAIL_REQUESTS_TIMEOUT", default=20.0)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Logging ----------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# json: one JSON object per line (production, for a log collector); plain: for people (DEBUG).
LOG_FORMAT = env("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "tedxpay.core.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s [%(request_id)s] [%(order_code)s] %(name)s: %(message)s",
        },
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            # Extra fields of a record (the access line's route, status, …) are added as keys.
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(order_code)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}
