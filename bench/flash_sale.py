"""Flash-sale benchmark: many buyers race for a few seats through the real HTTP API.

Starts (in a private folder, on loopback, stopped by pid at the end): MariaDB and Redis via
scripts/services.sh, the Xendit simulator as its own process, and gunicorn serving
tedxpay. Then BUYERS concurrent clients each POST /api/orders for 1–3 seats of a phase
with SEATS seats, and the run prints throughput, latency percentiles, the answer codes and
an oversell check. It also measures, in the same run, the raw database limit of the
hot-row conditional UPDATE that every order goes through (DESIGN §6), so the two figures
can be compared.

    .venv/bin/python bench/flash_sale.py --buyers 400 --seats 300 --concurrency 50 --workers 4

A benchmark, not a test: it asserts nothing, it reports (and exits 1 only on oversell).
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def manage(env: dict, *args: str) -> str:
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{out.stderr}")
    return out.stdout


def setup_catalog(env: dict, seats: int) -> tuple[int, str]:
    script = f"""
import json
from datetime import timedelta
from django.utils import timezone
from tickets.models import Event, Ticket
from tedxpay.core.services import api_key_create
now = timezone.now()
event = Event.objects.create(
    slug="bench", name="TEDx Bench", venue="Loopback", starts_at=now + timedelta(days=30)
)
ticket = Ticket.objects.create(
    event=event, name="Flash", price=150000, quota={seats}, max_per_order=3,
    valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=1),
)
key = api_key_create(name="bench")[1]
print(json.dumps({{"ticket_id": ticket.pk, "key": key}}))
"""
    data = json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])
    return data["ticket_id"], data["key"]


def buy(base_url: str, api_key: str, ticket_id: int, quantity: int, n: int) -> tuple[int, float, str]:
    body = json.dumps(
        {
            "buyer": {"full_name": f"Buyer {n}", "email": f"buyer{n}@example.com", "phone": f"0812{n:08d}"},
            "items": [{"ticket_id": ticket_id, "quantity": quantity}],
        }
    ).encode()
    request = urllib.request.Request(
        f"{base_url}/api/orders",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Api-Key {api_key}"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    elapsed = time.perf_counter() - started
    try:
        code = json.loads(payload).get("error", {}).get("code", "") if status >= 400 else ""
    except ValueError:
        code = "non-json"
    return status, elapsed, code


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def raw_update_limit(database_url: str, concurrency: int, seconds: float) -> float:
    """Transactions/s of the bare hot-row conditional UPDATE + COMMIT, `concurrency`
    connections on one row: the ceiling any order path on one phase can reach."""
    from urllib.parse import urlparse

    import MySQLdb

    url = urlparse(database_url)
    connect = dict(host=url.hostname, port=url.port, user=url.username, passwd=url.password, db="tedxpay")
    setup = MySQLdb.connect(**connect)
    cursor = setup.cursor()
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_hot_row"
        " (id INT PRIMARY KEY, held INT UNSIGNED NOT NULL, quota INT UNSIGNED NOT NULL) ENGINE=InnoDB"
    )
    cursor.execute("REPLACE INTO bench_hot_row VALUES (1, 0, 4000000000)")
    setup.commit()
    setup.close()

    stop = time.monotonic() + seconds
    counts = [0] * concurrency

    def worker(slot: int) -> None:
        connection = MySQLdb.connect(**connect)
        connection.cursor().execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        cur = connection.cursor()
        while time.monotonic() < stop:
            cur.execute("UPDATE bench_hot_row SET held = held + 1 WHERE id = 1 AND held + 1 <= quota")
            connection.commit()
            counts[slot] += 1
        connection.close()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def stock_check(env: dict, ticket_id: int) -> dict:
    script = f"""
import json
from django.db.models import Sum
from orders.models import OrderItem
from tickets.models import Ticket
t = Ticket.objects.get(pk={ticket_id})
lines = OrderItem.objects.filter(ticket=t, order__status__in=["PENDING", "PAID"]).aggregate(s=Sum("quantity"))["s"] or 0
print(json.dumps({{"quota": t.quota, "held": t.held, "lines": lines}}))
"""
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buyers", type=int, default=400, help="buyers in the rush")
    parser.add_argument("--seats", type=int, default=300, help="seats on sale")
    parser.add_argument("--concurrency", type=int, default=50, help="buyers in flight at once")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--raw-seconds", type=float, default=5.0, help="length of the raw UPDATE measurement")
    args = parser.parse_args()

    run_dir = Path(tempfile.mkdtemp(prefix="tedxpay-bench."))
    processes: list[subprocess.Popen] = []
    subprocess.run([str(ROOT / "scripts" / "services.sh"), "start", str(run_dir)], check=True)
    try:
        service_env = dict(line.split("=", 1) for line in (run_dir / "env").read_text().split())
        web_port, simulator_port = free_port(), free_port()
        base_url = f"http://127.0.0.1:{web_port}"
        env = {
            **os.environ,
            **service_env,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-secret-key-" + "x" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": base_url,
            "TEDXPAY_VAR_DIR": str(run_dir / "var"),
            "CELERY_BROKER_URL": service_env["REDIS_URL"],
            "CACHE_URL": service_env["REDIS_URL"].rsplit("/", 1)[0] + "/1",
            "XENDIT_SIMULATOR_ENABLED": "true",
            "XENDIT_SECRET_KEY": "xnd_development_bench",
            # Plain HTTP on loopback: no HTTPS redirect; /metrics needs a token with DEBUG off.
            "SECURE_SSL_REDIRECT": "false",
            "METRICS_TOKEN": "bench-only",
            "XENDIT_BASE_URL": f"http://127.0.0.1:{simulator_port}/_xendit",
            "XENDIT_CALLBACK_URL": f"{base_url}/api/payment-callback",
            "API_THROTTLE_RATE": "1000000/min",
            "DATABASE_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
        manage(env, "migrate", "--no-input")
        ticket_id, api_key = setup_catalog(env, args.seats)

        log = open(run_dir / "servers.log", "w")  # noqa: SIM115 (closed with the run dir)
        processes.append(
            subprocess.Popen(
                [PYTHON, "manage.py", "xendit_simulator", "--port", str(simulator_port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "gunicorn"),
                    "tedxpay.wsgi",
                    "--bind",
                    f"127.0.0.1:{web_port}",
                    "--workers",
                    str(args.workers),
                    # As in the Dockerfile.
                    "--worker-class",
                    "gthread",
                    "--threads",
                    str(args.threads),
                    "--no-control-socket",
                    # As in the Dockerfile: above the slowest order placement (≈ 39 s, see
                    # docs/architecture.md "Time budget"), so a slow Xendit is not a killed worker.
                    "--timeout",
                    "60",
                    "--pid",
                    str(run_dir / "gunicorn.pid"),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        wait_http(f"http://127.0.0.1:{simulator_port}/_xendit/v2/invoices/none")
        wait_http(f"{base_url}/healthz")

        rng = random.Random(42)
        quantities = [rng.randint(1, 3) for _ in range(args.buyers)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            results = list(pool.map(lambda n: buy(base_url, api_key, ticket_id, quantities[n], n), range(args.buyers)))
        wall = time.perf_counter() - started

        latencies = [elapsed for _, elapsed, _ in results]
        answers: dict[str, int] = {}
        for status, _, code in results:
            key = f"{status} {code}".strip()
            answers[key] = answers.get(key, 0) + 1
        sold = sum(q for (status, _, _), q in zip(results, quantities, strict=True) if status == 201)
        stock = stock_check(env, ticket_id)
        oversold = stock["held"] > stock["quota"] or stock["lines"] != stock["held"] or sold != stock["held"]

        raw_tps = raw_update_limit(service_env["DATABASE_URL"], args.concurrency, args.raw_seconds)

        print(
            f"buyers {args.buyers}, seats {args.seats}, concurrency {args.concurrency}, "
            f"gunicorn {args.workers} workers × {args.threads} threads"
        )
        print(f"wall {wall:.2f}s, throughput {args.buyers / wall:.1f} requests/s")
        print(
            "latency p50 {:.0f} ms, p95 {:.0f} ms, p99 {:.0f} ms, mean {:.0f} ms".format(
                *(1000 * percentile(latencies, p) for p in (50, 95, 99)), 1000 * statistics.mean(latencies)
            )
        )
        print("answers:", ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
        for status in sorted({status for status, _, _ in results}):
            own = [elapsed for answer, elapsed, _ in results if answer == status]
            print(f"  {status}: p50 {1000 * percentile(own, 50):.0f} ms, p95 {1000 * percentile(own, 95):.0f} ms")
        print(f"stock: quota {stock['quota']}, held {stock['held']}, order lines {stock['lines']}, sold by 201s {sold}")
        print(f"oversell check: {'FAILED' if oversold else 'ok'}")
        print(f"raw hot-row UPDATE limit: {raw_tps:.0f} transactions/s at {args.concurrency} connections")
        return 1 if oversold else 0
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop", str(run_dir)], check=False)


if __name__ == "__main__":
    sys.exit(main())
