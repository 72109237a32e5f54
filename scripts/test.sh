#!/usr/bin/env bash
# `make test`: install what is missing (Debian packages, the virtualenv), start MariaDB and
# Redis on loopback in a private folder, run the whole pytest suite against MariaDB, and
# stop both servers by pid whatever the outcome. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
[ -f /usr/include/mariadb/mysql.h ] || missing+=(libmariadb-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
[ -f /usr/share/zoneinfo/Asia/Jakarta ] || missing+=(tzdata)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

make --no-print-directory venv-dev

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/tedxpay-test.XXXXXX")
cleanup() {
  scripts/services.sh stop "$run_dir" || true
  rm -rf "$run_dir"
}
trap cleanup EXIT
scripts/services.sh start "$run_dir"
set -a
# shellcheck disable=SC1091
. "$run_dir/env"
set +a
export TEDXPAY_VAR_DIR="$run_dir/var"

.venv/bin/ruff check .
.venv/bin/pytest "$@"
