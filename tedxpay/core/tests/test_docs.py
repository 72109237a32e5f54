"""The repository's docs stand alone: nothing points at documents a reader of the repository
does not have, and every relative link in the docs leads to a file that exists."""

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
