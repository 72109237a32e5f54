#!/usr/bin/env bash
# `make test`: install what is missing (Debian packages, the virtualenv), start MariaDB and
# Redis on loopback in a private folder, run ruff and the whole pytest suite against
# MariaDB, and stop both servers by pid whatever the outcome. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
[ -f /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
# msgfmt compiles the translations (locale/*.po → .mo); pdftotext reads the e-ticket PDF in tests.
command -v msgfmt >/dev/null || missing+=(gettext)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
# npm installs axe-core (package.json), which the accessibility tests inject into pages.
command -v npm >/dev/null || missing+=(npm)
[ -f /usr/share/zoneinfo/Asia/Jakarta ] || missing+=(tzdata)
# Debian's own python3 needs python3-venv for `python3 -m venv` (a pyenv build has it).
python3 -c "import ensurepip" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

make --no-print-directory venv-dev
# Test-only JavaScript, pinned by package-lock.json; never served by the site.
[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund --silent

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tedxpay-test.XXXXXX")
pytest_pid=""
cleanup() {
  # On INT/TERM (a CI timeout, Ctrl-C) pytest, its live servers and the Celery worker it
  # started must not outlive the databases: stop it first, by its pid.
  if [ -n "$pytest_pid" ] && kill -0 "$pytest_pid" 2>/dev/null; then
    kill "$pytest_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pytest_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pytest_pid" 2>/dev/null || true
  fi
  scripts/services.sh stop "$run_dir" || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
scripts/services.sh start "$run_dir"
set -a
# shellcheck disable=SC1091
. "$run_dir/env"
set +a
export TEDXPAY_VAR_DIR="$run_dir/var"

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Translations (.po in git, .mo compiled here). DEBUG only so the settings load without secrets.
DEBUG=true .venv/bin/python manage.py compilemessages --locale id --ignore .venv --ignore var --ignore node_modules -v 0
# In the background and waited for, so that a signal reaches the traps at once and the
# cleanup knows pytest's pid.
.venv/bin/pytest "$@" &
pytest_pid=$!
wait "$pytest_pid"
