import os

# Playwright's sync API runs an event loop in the test thread; ORM calls in the same test
# would otherwise be refused as "async unsafe".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.db import connection

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium; Playwright's own browser download cannot work here.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def pytest_collection_modifyitems(config, items):
    # Real row-lock races need MariaDB/MySQL: `make test` runs them there. On SQLite
    # (a developer's quick run) they are reported as skipped, with the reason.
    if os.environ.get("DATABASE_URL", "").startswith("mysql"):
        return
    skip = pytest.mark.skip(reason="needs MariaDB/MySQL: run `make test`")
    for item in items:
        if "mysql" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _process_caches_empty():
    # API keys and tickets kept by this process (tedxpay/core/process_cache.py) must not
    # outlive the test that made them: another test's rows may get the same ids.
    from tedxpay.core.process_cache import process_caches_clear

    process_caches_clear()
    yield
    process_caches_clear()


@pytest.fixture
def celery_eager():
    """.delay() runs the task at once in the calling thread (retries too, without the
    countdown); in a live server's thread too, which sends its emails into the test outbox."""
    from celery.result import _set_task_join_will_block

    from tedxpay.celery import app as celery_app

    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    # Not propagated: an eager retry is a Retry exception that apply() must see to run it
    # again; failures still show in the end state each test asserts.
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous
    # Celery marks "inside a task" in one process-wide flag that each eager run sets and
    # then puts back as it found it; eager tasks on several threads at once (the race
    # tests) can leave it set, and every later `.apply().get()` would then refuse to run.
    _set_task_join_will_block(False)


@pytest.fixture
def on_mysql() -> bool:
    return connection.vendor == "mysql"


def pytest_sessionstart(session):
    # The Indonesian pages need the compiled catalog: `make test` compiles it, and a quick
    # `.venv/bin/pytest` after editing a .po file must not test yesterday's translations.
    from pathlib import Path

    from django.core.management import call_command

    for po in Path(__file__).parent.glob("locale/*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command(
                "compilemessages", locale=[po.parent.parent.name], ignore_patterns=[".venv", "var"], verbosity=0
            )


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} ({settings.DATABASES['default']['NAME']})"


# --- Xendit simulator -------------------------------------------------------------------
# The real SDK over real HTTP against the simulator on pytest-django's live server. The
# live server runs in another thread with its own DB connection, so tests using these need
# `@pytest.mark.django_db(transaction=True)` (on MariaDB especially).


@pytest.fixture
def xendit_simulator(live_server, settings):
    """Points the gateway, the callbacks and SITE_URL at the live server and returns a
    `SimulatorControl` (payments/gateways/simulator/testing.py): `.pay(invoice_id,
    channel="BCA", callback="send"|"none"|"twice", amount=None)`, `.expire(...)`,
    `.settle(...)`, `.invoice(...)`, `.inject_fault(...)`."""
    from payments.gateways.simulator.testing import SimulatorControl

    settings.XENDIT_BASE_URL = f"{live_server.url}/_xendit"
    settings.XENDIT_CALLBACK_URL = f"{live_server.url}/api/payment-callback"
    settings.XENDIT_REFUND_CALLBACK_URL = f"{live_server.url}/api/refund-callback"
    settings.SITE_URL = live_server.url
    yield SimulatorControl(settings.XENDIT_BASE_URL, settings.XENDIT_SECRET_KEY)
    from payments.gateways.xendit import gateways_close

    gateways_close()


@pytest.fixture
def gateway(xendit_simulator):
    """The configured payment gateway (the real Xendit SDK), talking to the simulator."""
    from payments.gateways.base import get_gateway

    return get_gateway()
