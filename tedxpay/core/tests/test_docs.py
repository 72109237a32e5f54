"""The repository's docs stand alone and stay true: nothing points at documents a reader of
the repository does not have (design notes, an issue tracker), every relative link in the
docs leads to a file that exists, and so does every file path the docs name."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUTSIDE = re.compile(r"DESIGN\.md|DESIGN §|DESIGN:|XENDIT\.md|STYLE\.md|ENVIRONMENT\.md|\.\./shared/|/work/shared")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    paths = [ROOT / name for name in names.split()]
    return [path for path in paths if path.suffix in {".py", ".md", ".html", ".sh", ".txt", ".toml", ".yml"}]


def test_nothing_points_outside_the_repository():
    this_file = Path(__file__).resolve()
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        if path.resolve() != this_file and path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_relative_links_in_the_docs_lead_to_files():
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert broken == []


# A path with at least one folder, ending in a file type we keep (`bench/record.py`,
# `orders/checkout/placing.py`, `docs/refunds.md`); placeholders are written in capitals.
_CITED_PATH = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)+[\w.-]+\.(?:py|md|html|sh|toml|txt|json|yml|js|css|po))\b")


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_file_the_docs_name_exists():
    missing = [
        f"{doc.relative_to(ROOT)}:{number}: {path}"
        for doc in _docs()
        for number, line in enumerate(doc.read_text().splitlines(), 1)
        for path in _CITED_PATH.findall(line)
        if not path.split("/")[-1].split(".")[0].isupper()
        and not any((base / path).exists() for base in (ROOT, ROOT / "templates", ROOT / "static"))
    ]
    assert missing == []


def test_the_docs_cite_no_issue_numbers():
    # The issue tracker is not part of the repository: say what was found, not where.
    cited = [
        f"{doc.relative_to(ROOT)}:{number}: {line.strip()}"
        for doc in _docs()
        for number, line in enumerate(doc.read_text().splitlines(), 1)
        if re.search(r"\bissues? #?\d+", line, re.IGNORECASE)
    ]
    assert cited == []
