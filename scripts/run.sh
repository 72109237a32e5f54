#!/usr/bin/env bash
# `make run`: migrate, seed the demo event, then serve the site with a Celery worker and
# beat beside it (filesystem broker by default). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${HOST:-127.0.0.1}
port=${PORT:-8000}
export SITE_URL=${SITE_URL:-http://$host:$port}

.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py seed_demo

mkdir -p var/run
stop_worker() {
  if [ -f var/run/celery.pid ]; then
    kill "$(cat var/run/celery.pid)" 2>/dev/null || true
  fi
}
trap stop_worker EXIT INT TERM
stop_worker
.venv/bin/celery -A tedxpay worker -B --concurrency 2 --loglevel INFO \
  -s var/run/celerybeat-schedule --pidfile var/run/celery.pid >var/celery.log 2>&1 &

echo
echo "tedxpay: http://$host:$port/   admin: http://$host:$port/admin/   API docs: http://$host:$port/api/docs/"
echo "Celery worker + beat log: var/celery.log. Make an admin user: .venv/bin/python manage.py createsuperuser"
echo
.venv/bin/python manage.py runserver "$host:$port"
