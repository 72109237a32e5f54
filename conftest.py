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


@pytest.fixture
def on_mysql() -> bool:
    return connection.vendor == "mysql"


def pytest_report_header(config):
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} ({settings.DATABASES['default']['NAME']})"
