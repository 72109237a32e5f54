# Production image: gunicorn for the web, the same image runs the Celery worker and beat.
#   docker build -t tedxpay .
#   docker run --env-file .env tedxpay python manage.py migrate --no-input   # release step, once
#   docker run --env-file .env -p 8000:8000 tedxpay
#   docker run --env-file .env tedxpay celery -A tedxpay worker --loglevel INFO
#   docker run --env-file .env tedxpay celery -A tedxpay beat --loglevel INFO
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false TEDXPAY_VAR_DIR=/app/var
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmariadb-dev pkg-config gcc gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-mysql.txt ./
RUN pip install --no-cache-dir -r requirements-mysql.txt
COPY . .
# collectstatic and compilemessages (the translations: .po in git, .mo built here) import
# the settings, which refuse to start without these in production; these values are used
# for nothing else.
ARG BUILD_ONLY_SETTINGS="SECRET_KEY=collectstatic-only XENDIT_SECRET_KEY=unused XENDIT_CALLBACK_TOKEN=unused METRICS_TOKEN=unused"
RUN env $BUILD_ONLY_SETTINGS python manage.py collectstatic --no-input \
    && env $BUILD_ONLY_SETTINGS python manage.py compilemessages --locale id -v 0 \
    && useradd --system --home /app tedxpay && mkdir -p var && chown -R tedxpay var
USER tedxpay

EXPOSE 8000
# --timeout 60: the slowest order placement (Xendit's create timing out, then the one
# look-up timing out) takes about 39 s with the default XENDIT_* timeouts; gunicorn kills a
# worker that runs longer than this, mid-request. See docs/architecture.md, "Time budget".
# gthread workers: an order placement waits on Xendit (usually under 2 s, at worst ~39 s);
# threads keep the pages and the payment callback answered meanwhile. Capacity is
# WEB_CONCURRENCY × WEB_THREADS requests in flight; 32 threads a worker keep a flash sale's
# throughput with Xendit answering in 300 ms (docs/performance.md), and each thread may
# hold a database connection (docs/operations.md, "Web").
# Migrations are a release step (above), not run by every web replica at start.
# No gunicorn access log: it would write full URLs (query strings, admin searches, order
# links); the app writes one line per request itself (tedxpay/core/access_log.py).
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "exec gunicorn tedxpay.wsgi --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-4} --worker-class gthread --threads ${WEB_THREADS:-32} --timeout 60 --no-control-socket"]
