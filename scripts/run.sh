#!/usr/bin/env bash
# `make run`: migrate, seed the demo event, then serve the site with a Celery worker and
# beat beside it (filesystem broker by default). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${HOST:-127.0.0.1}
port=${PORT:-8000}
export SITE_URL=${SITE_URL:-http://$host:$port}
# The demo is a development server: debug pages, the Xendit simulator. (The settings
# default to DEBUG off, so a production start that forgets the variable is never this.)
export DEBUG=${DEBUG:-true}
# The built-in Xendit simulator's clock: invoices expire by themselves, failed callbacks are retried.
export XENDIT_SIMULATOR_CLOCK_SECONDS=${XENDIT_SIMULATOR_CLOCK_SECONDS:-1}

# Translations: the .po files are in git, the compiled .mo files are made here (needs
# msgfmt, from Debian's gettext package, installed on first use as `make test` does).
if ! command -v msgfmt >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "Installing Debian's gettext (msgfmt, for the Indonesian translations)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gettext >/dev/null
fi
.venv/bin/python manage.py compilemessages --locale id --ignore .venv --ignore var --ignore node_modules -v 0
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py seed_demo

# Worker + beat in one process (fine for one machine; production runs them separately, see
# docs/operations.md). Its files go where the settings put theirs (TEDXPAY_VAR_DIR, which
# may also come from .env: ask Django rather than guess).
var_dir=$(.venv/bin/python manage.py shell -v 0 -c "from django.conf import settings; print(settings.VAR_DIR)")
mkdir -p "$var_dir/run"
pidfile="$var_dir/run/celery.pid"
running() {  # alive and not a zombie waiting for this script to reap it
  ps -p "$1" -o stat= 2>/dev/null | grep -q '^[^Z]'
}
stop_worker() {
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile" 2>/dev/null || true)
  # Only a worker of ours: after a reboot the pid in a stale file may belong to anything.
  if [ -n "$pid" ] && ps -p "$pid" -o args= 2>/dev/null | grep -q "celery -A tedxpay worker"; then
    kill "$pid" 2>/dev/null || true
    # A warm shutdown finishes the task at hand; give it a few seconds, then insist.
    for _ in $(seq 1 50); do running "$pid" || break; sleep 0.2; done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$pidfile"
}
trap stop_worker EXIT INT TERM
stop_worker
# setsid: its own process group, so Ctrl-C reaches only this script and runserver; the
# trap then stops the worker through its main process. A signal sent to the pool's child
# processes directly can kill one holding the pool's queue lock, and the worker then hangs
# on shutdown (billiard).
# The beat schedule file is CELERY_BEAT_SCHEDULE_FILENAME from the settings.
setsid .venv/bin/celery -A tedxpay worker -B --concurrency 2 --loglevel INFO \
  --pidfile "$pidfile" >"$var_dir/celery.log" 2>&1 &

echo
echo "tedxpay: http://$host:$port/   admin: http://$host:$port/admin/   API docs: http://$host:$port/api/docs/"
echo "Celery worker + beat log: $var_dir/celery.log. Make an admin user: DEBUG=true .venv/bin/python manage.py createsuperuser"
echo
.venv/bin/python manage.py runserver "$host:$port"
