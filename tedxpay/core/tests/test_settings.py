"""The settings module switches database by DATABASE_URL alone (run in a fresh interpreter,
as settings are read once per process)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRINT_SETTINGS = (
    "import json, tedxpay.settings as s; "
    "print(json.dumps({'db': s.DATABASES['default'], 'broker': s.CELERY_BROKER_URL, "
    "'email': s.EMAIL_BACKEND, 'xendit': s.XENDIT_BASE_URL, 'debug': s.DEBUG}, default=str))"
)


def settings_with(env: dict, tmp_path) -> dict:
    clean = {"PATH": "/usr/bin:/bin", "TEDXPAY_VAR_DIR": str(tmp_path / "var"), **env}
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=ROOT, env=clean, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_debug_alone_is_the_embedded_default_make_run_uses(tmp_path):
    settings = settings_with({"DEBUG": "true"}, tmp_path)
    assert settings["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["db"]["NAME"] == str(tmp_path / "var" / "db.sqlite3")
    assert settings["broker"].startswith("filesystem://")
    assert settings["email"] == "django.core.mail.backends.filebased.EmailBackend"
    assert settings["xendit"] == "http://127.0.0.1:8000/_xendit"
    assert settings["debug"] is True


def test_mysql_url_switches_to_mysql_with_utf8mb4_and_strict_mode(tmp_path):
    settings = settings_with(
        {"DEBUG": "true", "DATABASE_URL": "mysql://shop:secret@db.internal:3307/tedxpay"}, tmp_path
    )
    db = settings["db"]
    assert db["ENGINE"] == "django.db.backends.mysql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], str(db["PORT"])) == (
        "tedxpay",
        "shop",
        "secret",
        "db.internal",
        "3307",
    )
    assert db["OPTIONS"]["charset"] == "utf8mb4"
    assert "STRICT_TRANS_TABLES" in db["OPTIONS"]["init_command"]
    assert db["TEST"]["CHARSET"] == "utf8mb4"


def test_no_configuration_means_debug_off_and_refuses_to_start_without_secrets(tmp_path):
    # A production start that forgets DEBUG must not serve debug pages or the simulator.
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TEDXPAY_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_production_without_secret_key_refuses_to_start(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TEDXPAY_VAR_DIR": str(tmp_path), "DEBUG": "false"},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "SECRET_KEY must be set" in out.stderr


def test_simulator_refuses_a_live_xendit_key(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "TEDXPAY_VAR_DIR": str(tmp_path),
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "XENDIT_SIMULATOR_ENABLED": "true",
            "XENDIT_SECRET_KEY": "xnd_production_abc",
        },
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "live Xendit key" in out.stderr


def test_production_without_xendit_credentials_refuses_to_start(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "TEDXPAY_VAR_DIR": str(tmp_path),
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "METRICS_TOKEN": "scrape-token",
        },
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "XENDIT_SECRET_KEY and XENDIT_CALLBACK_TOKEN must be set" in out.stderr


def test_production_with_everything_set_starts_with_xendits_host(tmp_path):
    settings = settings_with(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "XENDIT_SECRET_KEY": "xnd_production_abc",
            "XENDIT_CALLBACK_TOKEN": "token-from-dashboard",
            "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
            "METRICS_TOKEN": "scrape-token",
        },
        tmp_path,
    )
    assert settings["debug"] is False
    assert settings["xendit"] == "https://api.xendit.co"
    assert settings["broker"] == "redis://redis.internal:6379/0"


def test_email_url_switches_to_smtp(tmp_path):
    settings = settings_with({"DEBUG": "true", "EMAIL_URL": "smtp+tls://user:pw@smtp.example.org:587"}, tmp_path)
    assert settings["email"] == "django.core.mail.backends.smtp.EmailBackend"


def test_env_example_documents_every_variable_the_settings_read():
    import re

    settings_source = (ROOT / "tedxpay" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "the pattern no longer finds the settings' variables"
    assert read - documented == set()


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "production-" + "k" * 50,
    "ALLOWED_HOSTS": "tickets.example.org",
    "XENDIT_SECRET_KEY": "xnd_production_abc",
    "XENDIT_CALLBACK_TOKEN": "token-from-dashboard",
    "METRICS_TOKEN": "scrape-token",
    "CACHE_URL": "rediscache://127.0.0.1:1/0",
}
PRINT_SECURITY = (
    "import json, tedxpay.settings as s; "
    "print(json.dumps({name: getattr(s, name, None) for name in ("
    "'SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'TRUSTED_PROXY_COUNT', "
    "'METRICS_ENABLED')}))"
)


def _run(code: str, env: dict, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TEDXPAY_VAR_DIR": str(tmp_path / "var"), **env},
        capture_output=True,
        text=True,
    )


def test_production_redirects_to_https_with_hsts_and_trusts_no_proxy_header_by_default(tmp_path):
    out = _run(PRINT_SECURITY, PRODUCTION, tmp_path)
    values = json.loads(out.stdout)
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    # Without a proxy that says so, X-Forwarded-Proto from a client means nothing.
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["TRUSTED_PROXY_COUNT"] == 0


def test_proxy_ssl_header_only_when_configured(tmp_path):
    out = _run(PRINT_SECURITY, {**PRODUCTION, "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}, tmp_path)
    assert json.loads(out.stdout)["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_refuses_to_start_with_open_metrics(tmp_path):
    without_token = {key: value for key, value in PRODUCTION.items() if key != "METRICS_TOKEN"}
    out = _run(PRINT_SECURITY, without_token, tmp_path)
    assert out.returncode != 0
    assert "METRICS_TOKEN must be set" in out.stderr
    # Or metrics switched off, explicitly.
    out = _run(PRINT_SECURITY, {**without_token, "METRICS_ENABLED": "false"}, tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["METRICS_ENABLED"] is False


def test_production_configuration_passes_the_deployment_checks_without_a_warning(tmp_path):
    out = _run(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        {**PRODUCTION, "DJANGO_SETTINGS_MODULE": "tedxpay.settings"},
        tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "no issues" in out.stdout
