"""Every string a buyer can read has its Indonesian translation.

The strings are extracted afresh from the templates and the code (Django's makemessages,
into a copy of the catalog), so a new `{% translate %}` without an Indonesian line fails
here, as does a translation left fuzzy. Emails are written as one file per language: each
English email needs its Indonesian sibling.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.template.loader import get_template

from notifications.models import NotificationKind

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po"
# What a buyer or a door volunteer can read comes from these; tests, migrations and tooling
# are left out.
SOURCES = ["templates", "tedxpay", "tickets", "vouchers", "orders", "payments", "notifications", "checkin"]
SKIPPED = shutil.ignore_patterns("tests", "migrations", "__pycache__", "*.pyc", "locale")


def _msgids(po_text: str) -> list[str]:
    ids = []
    for block in po_text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        text, reading = "", False
        for line in lines:
            if line.startswith("msgid "):
                text, reading = line[len("msgid ") :].strip('"'), True
            elif line.startswith('"') and reading:
                text += line.strip('"')
            else:
                reading = False
        if text:
            ids.append(text)
    return ids


def untranslated_strings(project: Path, catalog: Path, tmp_path: Path, settings, monkeypatch) -> list[str]:
    """The strings of `project` that `catalog` leaves untranslated or fuzzy.

    makemessages writes into the catalog of the folder it runs in, so it runs on a copy of
    the sources, with a copy of the catalog: the real one is never touched."""
    sources = tmp_path / "sources"
    for name in SOURCES:
        if (project / name).is_dir():
            shutil.copytree(project / name, sources / name, ignore=SKIPPED)
    work = tmp_path / "locale" / "id" / "LC_MESSAGES"
    work.mkdir(parents=True)
    shutil.copy(catalog, work / "django.po")
    before = catalog.read_bytes()
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    monkeypatch.chdir(sources)
    call_command("makemessages", locale=["id"], no_location=True, verbosity=0)
    assert catalog.read_bytes() == before, "the real catalog must stay as it is"
    assert _msgids((work / "django.po").read_text()), "nothing was extracted"
    merged = str(work / "django.po")
    missing = []
    for flag in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(["msgattrib", flag, "--no-obsolete", merged], capture_output=True, text=True, check=True)
        missing += _msgids(found.stdout)
    return missing


def test_every_string_has_an_indonesian_translation(tmp_path, settings, monkeypatch):
    assert untranslated_strings(ROOT, CATALOG, tmp_path, settings, monkeypatch) == []


def test_a_new_string_without_translation_is_found(tmp_path, settings, monkeypatch):
    project = tmp_path / "project"
    (project / "templates").mkdir(parents=True)
    (project / "templates" / "page.html").write_text(
        '{% load i18n %}<p>{% translate "Total" %}</p><p>{% translate "Words nobody translated" %}</p>'
    )
    catalog_dir = tmp_path / "catalog"
    catalog_dir.mkdir()
    assert untranslated_strings(project, CATALOG, catalog_dir, settings, monkeypatch) == ["Words nobody translated"]


def test_every_email_exists_in_both_languages():
    english = {path.name for path in (ROOT / "templates" / "emails").glob("*.en.*")}
    kinds = {name.split(".")[0] for name in english}
    assert set(NotificationKind.values) <= kinds
    for name in english:
        assert (ROOT / "templates" / "emails" / name.replace(".en.", ".id.")).is_file(), name


@pytest.mark.parametrize("kind", NotificationKind.values)
def test_every_notification_kind_has_a_subject_in_both_languages(kind):
    from notifications.emails import SUBJECTS

    assert set(SUBJECTS[kind]) == {"en", "id"}
    for language in ("en", "id"):
        get_template(f"emails/{kind}.{language}.html")
        get_template(f"emails/{kind}.{language}.txt")
