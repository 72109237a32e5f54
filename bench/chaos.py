"""Chaos run: many orders on the real stack while Xendit, the network and the worker misbehave;
then every invoice at the simulator is compared with our records.

Starts, in a private folder, on loopback, and stops by pid at the end: MariaDB and Redis
(scripts/services.sh), the Xendit simulator as its own process (its clock on: invoices expire
by themselves, failed callbacks are retried on a compressed schedule), gunicorn, a Celery
worker and Celery beat (every sweep compressed to seconds). Then:

- buyers place ORDERS orders through POST /api/orders for more seats than there are, and
  each buyer does something: pays at once (callback delivered, lost, doubled or late),
  pays a different amount, pays in the last second (callback lost or late: the expiry sweep
  gets there first), pays and the money settles, or lets the order expire;
- Xendit misbehaves: errors (5xx, 429), HTML replies, slow replies past our read timeout
  (a create that times out still makes its invoice: an orphan), hangs and malformed replies,
  on every kind of call; some orphan invoices get paid anyway, with their callback lost;
- the Celery worker is killed with SIGKILL (its whole process group) and started again.

When the buyers are done the faults stop and the run waits for the system to converge,
then checks and prints: lost payments (paid at Xendit, not recorded here), phantom payments
(recorded here, not paid at Xendit), duplicate and missing emails, stock errors, orders
left PENDING, the reconciliation report of the run (every invoice matched or explained,
unexplained rupiah) and the time it took to converge after the faults stopped. Exits 1 on
any discrepancy.

    .venv/bin/python bench/chaos.py                 # 1,000 orders (make chaos)
    .venv/bin/python bench/chaos.py --short         # about 150 orders, under 3 minutes (make test)
"""

import argparse
import email
import email.header
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
sys.path.insert(0, str(ROOT))

from bench.stack import free_port, wait_http  # noqa: E402

CODE = re.compile(r"TDX-[0-9A-Z]{8}")
CHANNELS = ["BCA", "BNI", "MANDIRI", "OVO", "DANA", "QRIS", "ALFAMART", "CREDIT_CARD"]
FAULTS = [
    # (kind, mode, status, seconds): every kind of call, every way it can fail.
    ("create", "error", 503, 0),
    ("create", "error", 429, 0),
    ("create", "non_json", 502, 0),
    ("create", "delay", None, 2.6),  # past the 2 s read timeout: an orphan invoice
    ("create", "hang", None, 2.5),
    ("create", "malformed", None, 0),
    ("get", "error", 503, 0),
    ("get", "non_json", 502, 0),
    ("get", "malformed", None, 0),
    ("get", "delay", None, 2.5),
    ("list", "error", 503, 0),
    ("list", "delay", None, 2.5),
    ("expire", "error", 503, 0),
    ("expire", "non_json", 502, 0),
    ("any", "error", 500, 0),
]


class Stack:
    """The processes of the run, each stopped by its own pid (the worker by its group)."""

    def __init__(self, run_dir: Path, env: dict):
        self.run_dir = run_dir
        self.env = env
        self.processes: list[subprocess.Popen] = []
        self.worker: subprocess.Popen | None = None
        self.worker_starts = 0
        self.log = open(run_dir / "servers.log", "ab")  # noqa: SIM115 (closed in stop)

    def start(self, args: list[str], *, session: bool = False) -> subprocess.Popen:
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=self.log, stderr=self.log, start_new_session=session
        )
        self.processes.append(process)
        return process

    def start_worker(self) -> None:
        self.worker_starts += 1
        self.worker = self.start(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "tedxpay",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                "3",
                "--hostname",
                f"chaos{self.worker_starts}@%h",
                "--without-mingle",
                "--without-gossip",
            ],
            session=True,  # its own process group: the kill takes the pool with it
        )

    def kill_worker(self) -> None:
        """SIGKILL to the worker and its pool processes at once, as a lost machine."""
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait(timeout=10)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()


class Control:
    """The simulator's control API over HTTP (payments/gateways/simulator/testing.py)."""

    def __init__(self, base_url: str, secret_key: str):
        from payments.gateways.simulator.testing import SimulatorControl

        self.client = SimulatorControl(base_url, secret_key, timeout=20)

    def __getattr__(self, name):
        return getattr(self.client, name)


def api_post(base_url: str, api_key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base_url}/api/orders",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Api-Key {api_key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {}


class Run:
    def __init__(self, args, base_url: str, api_key: str, tickets: list[int], control: Control, stack: Stack):
        self.args = args
        self.base_url = base_url
        self.api_key = api_key
        self.tickets = tickets
        self.control = control
        self.stack = stack
        self.rng = random.Random(args.seed)
        self.rng_lock = threading.Lock()
        self.stats: Counter = Counter()
        self.stats_lock = threading.Lock()
        self.actions = ThreadPoolExecutor(max_workers=8)
        self.timers: list[threading.Timer] = []
        self.faults_on = threading.Event()

    def count(self, what: str) -> None:
        with self.stats_lock:
            self.stats[what] += 1

    def random(self) -> float:
        with self.rng_lock:
            return self.rng.random()

    def choice(self, options):
        with self.rng_lock:
            return self.rng.choice(options)

    def later(self, seconds: float, action, *args) -> None:
        timer = threading.Timer(seconds, lambda: self.actions.submit(self.safely, action, *args))
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def safely(self, action, *args) -> None:
        try:
            action(*args)
        except Exception as error:
            # A buyer action refused by the simulator (paying an invoice that expired a
            # moment ago) is part of the chaos, not a failure of the run.
            self.count(f"buyer action refused: {type(error).__name__}")

    # --- buyers ------------------------------------------------------------------------

    def place(self, n: int) -> None:
        ticket_id = self.tickets[n % len(self.tickets)]
        body = {
            "buyer": {"full_name": f"Chaos Buyer {n}", "email": f"buyer{n}@example.com", "phone": f"0812{n:08d}"},
            "items": [{"ticket_id": ticket_id, "quantity": 1 + n % 2}],
        }
        status, answer = api_post(self.base_url, self.api_key, body)
        code = (answer.get("error") or {}).get("code", "") if status >= 400 else ""
        self.count(f"placed {status} {code}".strip())
        if status != 201 or not answer.get("invoice_url"):
            return
        invoice_id = answer["invoice_url"].rstrip("/").rsplit("/", 1)[-1]
        ttl = self.args.ttl
        fate = self.random()
        channel = self.choice(CHANNELS)
        if fate < 0.40:
            callback = self.choice(["send"] * 6 + ["none"] * 2 + ["twice"] * 2 + ["late"])
            self.count(f"fate: pay, callback {callback}")
            self.later(0.5 + 4 * self.random(), self.pay, invoice_id, channel, callback, None)
        elif fate < 0.45:
            self.count("fate: pay a different amount")
            amount = answer["total"] + self.choice([-5_000, 10_000])
            self.later(1 + 3 * self.random(), self.pay, invoice_id, channel, self.choice(["send", "none"]), amount)
        elif fate < 0.55:
            self.count("fate: pay in the last second, callback lost")
            self.later(ttl - 1.5, self.pay, invoice_id, channel, "none", None)
        elif fate < 0.62:
            self.count("fate: pay in the last second, callback late")
            self.later(ttl - 1.5, self.pay, invoice_id, channel, "late", None)
        elif fate < 0.67:
            self.count("fate: pay, then the money settles")
            self.later(1, self.pay, invoice_id, channel, "send", None)
            self.later(4, self.control.settle, invoice_id)
        else:
            self.count("fate: let it expire")

    def pay(self, invoice_id: str, channel: str, callback: str, amount: int | None) -> None:
        try:
            self.control.pay(invoice_id, channel=channel, callback=callback, amount=amount, delay=3 + 9 * self.random())
        except Exception as error:
            if "UNAVAILABLE_PAYMENT_METHOD" in str(error):
                self.control.pay(invoice_id, channel="BCA", callback=callback, amount=amount, delay=5)
                return
            raise

    def pay_orphans(self) -> None:
        """Invoices a timed-out create made that nobody recorded: the buyer had no link, but
        someone (a retry, a copied URL) pays about half of them, the callback often lost."""
        from payments.gateways.simulator.models import SimulatedInvoice
        from payments.models import Payment

        seen: set[str] = set()
        while self.faults_on.is_set():
            time.sleep(2)
            for invoice in SimulatedInvoice.objects.filter(status="PENDING").exclude(pk__in=seen)[:50]:
                if Payment.objects.filter(invoice_id=invoice.pk).exists():
                    continue
                seen.add(invoice.pk)
                if self.random() < 0.5:
                    self.count("orphan invoice paid")
                    self.actions.submit(self.safely, self.pay, invoice.pk, "BCA", self.choice(["none", "send"]), None)

    def inject_faults(self) -> None:
        while self.faults_on.is_set():
            time.sleep(0.3 + self.random())
            kind, mode, status, seconds = self.choice(FAULTS)
            try:
                self.control.inject_fault(kind, mode, count=self.choice([1, 1, 2, 3]), status=status, seconds=seconds)
                self.count(f"fault {kind} {mode}")
            except Exception:
                self.count("fault injection failed")


# --- checks ----------------------------------------------------------------------------


def mail_messages(mail_dir: Path) -> list[tuple[str, str]]:
    """(to, subject) of every message the workers' file backend wrote."""
    found = []
    for path in sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []:
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                message = email.message_from_bytes(chunk.lstrip(b"\n"))
                subject = str(email.header.make_header(email.header.decode_header(message["Subject"] or "")))
                found.append((message["To"] or "", subject))
    return found


def discrepancies(mail_dir: Path, ticket_ids: list[int]) -> dict[str, list]:
    from django.db.models import Sum

    from notifications.models import Notification, NotificationKind, NotificationStatus
    from orders.models import NO_SEATS_REASONS, Order, OrderItem, OrderStatus
    from payments.gateways.simulator.models import SimulatedInvoice
    from payments.models import Payment, PaymentStatus
    from tickets.models import Ticket

    problems: dict[str, list] = {
        "lost payments": [],
        "phantom payments": [],
        "duplicate emails": [],
        "missing emails": [],
        "stock errors": [],
        "orders left pending": [],
    }
    ours = {p.invoice_id: p for p in Payment.objects.filter(invoice_id__isnull=False)}
    for invoice in SimulatedInvoice.objects.filter(status__in=["PAID", "SETTLED"]):
        payment = ours.get(invoice.pk)
        if payment is None or payment.status != PaymentStatus.PAID or payment.paid_amount != invoice.paid_amount:
            problems["lost payments"].append(f"{invoice.pk} {invoice.external_id} {invoice.paid_amount} IDR")
    paid_at_xendit = dict(
        SimulatedInvoice.objects.filter(status__in=["PAID", "SETTLED"]).values_list("pk", "paid_amount")
    )
    for payment in Payment.objects.filter(status=PaymentStatus.PAID).exclude(method="FREE"):
        if paid_at_xendit.get(payment.invoice_id) != payment.paid_amount:
            problems["phantom payments"].append(f"{payment.external_id} {payment.paid_amount} IDR")

    for (to, subject), copies in Counter(mail_messages(mail_dir)).items():
        if copies > 1:
            problems["duplicate emails"].append(f"{copies}× {subject} to {to}")
    sent_codes = Counter(
        CODE.search(subject).group(0) for _, subject in mail_messages(mail_dir) if CODE.search(subject)
    )
    for notification in Notification.objects.exclude(status__in=[NotificationStatus.SENT, NotificationStatus.OBSOLETE]):
        problems["missing emails"].append(f"{notification.kind} of order {notification.order_id} {notification.status}")
    for order in Order.objects.filter(status=OrderStatus.PAID).exclude(
        notifications__kind=NotificationKind.ORDER_CONFIRMATION, notifications__status=NotificationStatus.SENT
    ):
        problems["missing emails"].append(f"no confirmation for PAID {order.code}")
    for order in Order.objects.filter(attention_reason__in=NO_SEATS_REASONS).exclude(
        notifications__kind=NotificationKind.PAID_AFTER_EXPIRY, notifications__status=NotificationStatus.SENT
    ):
        problems["missing emails"].append(f"no paid-after-expiry email for {order.code}")
    for code, count in Counter(
        Notification.objects.filter(status=NotificationStatus.SENT).values_list("order__code", flat=True)
    ).items():
        if sent_codes.get(code, 0) < count:
            problems["missing emails"].append(f"{code}: {count} sent, {sent_codes.get(code, 0)} in the mailbox")

    for ticket in Ticket.objects.filter(pk__in=ticket_ids):
        lines = (
            OrderItem.objects.filter(
                ticket=ticket, order__status__in=[OrderStatus.PENDING, OrderStatus.PAID]
            ).aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        if ticket.held != lines or ticket.held > ticket.quota:
            problems["stock errors"].append(f"{ticket.name}: quota {ticket.quota}, held {ticket.held}, lines {lines}")
    from django.utils import timezone

    stale = Order.objects.filter(status=OrderStatus.PENDING, expires_at__lt=timezone.now() - timedelta(seconds=30))
    problems["orders left pending"] = list(stale.values_list("code", flat=True))
    return problems


def setup_catalog(orders: int) -> tuple[list[int], str]:
    from django.utils import timezone

    from tedxpay.core.services import api_key_create
    from tickets.models import Event, Ticket

    now = timezone.now()
    event = Event.objects.create(slug="chaos", name="TEDx Chaos", venue="Loopback", starts_at=now + timedelta(days=30))
    # About 1.5 seats asked per order: fewer seats than asked, so some sell out and some
    # late payments find no seat left.
    seats_per_ticket = max(10, int(orders * 1.5 * 0.8 / 3))
    tickets = [
        Ticket.objects.create(
            event=event,
            name=name,
            price=price,
            quota=seats_per_ticket,
            max_per_order=4,
            valid_from=now - timedelta(hours=1),
            valid_until=now + timedelta(days=1),
        ).pk
        for name, price in [("Early", 100_000), ("Regular", 250_000), ("Patron", 1_500_000)]
    ]
    return tickets, api_key_create(name="chaos")[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--short", action="store_true", help="about 150 orders, for make test")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--ttl", type=float, default=20.0, help="order (and invoice) lifetime, seconds")
    parser.add_argument("--kills", type=int, default=2, help="times the worker is killed with SIGKILL")
    parser.add_argument("--converge-timeout", type=float, default=600.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", help="write the result here too")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (database, logs, mail) afterwards")
    args = parser.parse_args()
    if args.short:
        args.orders = min(args.orders, 150)
        args.converge_timeout = min(args.converge_timeout, 180.0)
    args.seed = args.seed if args.seed is not None else random.randrange(1_000_000)

    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="tedxpay-chaos."))
    failed = True
    stack = None
    try:
        # Inside the try: when the servers cannot start, the folder is still cleaned up.
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "start", str(run_dir)], check=True, capture_output=True)
        service_env = dict(line.split("=", 1) for line in (run_dir / "env").read_text().split())
        web_port, simulator_port = free_port(), free_port()
        base_url = f"http://127.0.0.1:{web_port}"
        env = {
            **os.environ,
            "DATABASE_URL": service_env["DATABASE_URL"],
            "DEBUG": "false",
            "SECRET_KEY": "chaos-only-secret-key-" + "x" * 30,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "METRICS_TOKEN": "chaos-only",
            "SITE_URL": base_url,
            "TEDXPAY_VAR_DIR": str(run_dir / "var"),
            "CELERY_BROKER_URL": service_env["REDIS_URL"],
            "CACHE_URL": service_env["REDIS_URL"].rsplit("/", 1)[0] + "/1",
            "XENDIT_SIMULATOR_ENABLED": "true",
            "XENDIT_SECRET_KEY": "xnd_development_chaos",
            "XENDIT_BASE_URL": f"http://127.0.0.1:{simulator_port}/_xendit",
            "XENDIT_CALLBACK_URL": f"{base_url}/api/payment-callback",
            "XENDIT_CONNECT_TIMEOUT": "1",
            "XENDIT_READ_TIMEOUT": "2",
            "XENDIT_SIMULATOR_CALLBACK_RETRY_SECONDS": "1,2,4,8,16,32",
            "API_THROTTLE_RATE": "1000000/min",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "ORDER_TTL_SECONDS": str(int(args.ttl)),
            "EXPIRY_SWEEP_INTERVAL_SECONDS": "5",
            "PAYMENTS_SWEEP_INTERVAL_SECONDS": "5",
            "NOTIFICATION_SWEEP_INTERVAL_SECONDS": "5",
            "DATABASE_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
        for key in ("DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER"):
            env.pop(key, None)
        env["DJANGO_SETTINGS_MODULE"] = "tedxpay.settings"
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--no-input", verbosity=0)
        ticket_ids, api_key = setup_catalog(args.orders)

        stack = Stack(run_dir, env)
        stack.start([PYTHON, "manage.py", "xendit_simulator", "--port", str(simulator_port), "--clock", "0.5"])
        stack.start(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "tedxpay.wsgi",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--worker-class",
                "gthread",
                "--threads",
                "8",
                "--no-control-socket",
                "--timeout",
                "60",
                "--pid",
                str(run_dir / "gunicorn.pid"),
            ]
        )
        stack.start_worker()
        stack.start(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "tedxpay",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(run_dir / "beat-schedule"),
            ]
        )
        wait_http(f"http://127.0.0.1:{simulator_port}/_xendit/v2/invoices/none")
        wait_http(f"{base_url}/healthz")
        control = Control(env["XENDIT_BASE_URL"], env["XENDIT_SECRET_KEY"])
        run = Run(args, base_url, api_key, ticket_ids, control, stack)
        print(f"chaos: {args.orders} orders, seed {args.seed}, order lifetime {args.ttl:.0f} s, in {run_dir}")

        # --- the chaos ------------------------------------------------------------------
        chaos_started = time.monotonic()
        run.faults_on.set()
        helpers = [threading.Thread(target=run.inject_faults, daemon=True), threading.Thread(target=run.pay_orphans)]
        for helper in helpers:
            helper.start()
        placing = ThreadPoolExecutor(max_workers=args.concurrency)
        placed = [placing.submit(run.place, n) for n in range(args.orders)]
        kill_points = {int(args.orders * (k + 1) / (args.kills + 1)) for k in range(args.kills)}
        for n, future in enumerate(placed):
            future.result()
            if n in kill_points:
                stack.kill_worker()
                run.count("worker killed (SIGKILL)")
                time.sleep(2)
                stack.start_worker()
        placing.shutdown()
        # Every buyer's last action is due within the order lifetime (+ a late callback).
        time.sleep(args.ttl + 2)
        for timer in run.timers:
            timer.join()
        run.actions.shutdown(wait=True)
        run.faults_on.clear()
        for helper in helpers:
            helper.join()
        control.clear_faults()
        faults_stopped = time.monotonic()
        print(f"chaos phase: {faults_stopped - chaos_started:.0f} s; faults stopped, waiting to converge")

        # --- converge and check ---------------------------------------------------------
        mail_dir = run_dir / "var" / "mail"
        deadline = faults_stopped + args.converge_timeout
        while True:
            problems = discrepancies(mail_dir, ticket_ids)
            if not any(problems.values()) or time.monotonic() > deadline:
                break
            time.sleep(3)
        converged_after = time.monotonic() - faults_stopped
        converged = not any(problems.values())
        time.sleep(3)  # room for a late duplicate to show up
        problems = discrepancies(mail_dir, ticket_ids)
        converged = converged and not any(problems.values())

        from django.utils import timezone

        from reconciliation.models import Classification
        from reconciliation.services import JAKARTA, reconciliation_report_create

        now = timezone.now()
        window = (now - timedelta(seconds=time.monotonic() - started + 60), now + timedelta(seconds=1))
        report = reconciliation_report_create(day=timezone.localtime(now, JAKARTA).date(), window=window)
        attention = list(report.rows.filter(needs_attention=True).values_list("invoice_id", "explanation"))
        classes = Counter(report.rows.values_list("classification", flat=True))

        from orders.models import Order, needs_attention_q

        print()
        print("what happened:")
        for what, count in sorted(run.stats.items()):
            print(f"  {count:5d}  {what}")
        print(f"  {stack.worker_starts - 1:5d}  worker restarts")
        print("orders at the end:", dict(Counter(Order.objects.values_list("status", flat=True))))
        print(
            "flagged for finance:",
            dict(Counter(Order.objects.filter(needs_attention_q()).values_list("attention_reason", flat=True))),
        )
        print()
        print("discrepancies:")
        for what, found in problems.items():
            print(f"  {what}: {len(found)}" + (f"  e.g. {found[:3]}" if found else ""))
        print(
            f"reconciliation report {report.pk}: {report.invoices} invoices; "
            + ", ".join(f"{Classification(c).label.lower()} {n}" for c, n in sorted(classes.items()))
            + f"; need attention {report.attention}; gross {report.gross}, fees {report.fees}, net {report.net}, "
            f"recorded {report.recorded}, unexplained {report.unexplained} IDR"
        )
        for invoice_id, explanation in attention[:5]:
            print(f"  attention: {invoice_id}: {explanation}")
        print(
            f"converged {converged_after:.0f} s after the faults stopped"
            if converged
            else f"NOT converged within {args.converge_timeout:.0f} s"
        )
        print(f"whole run {time.monotonic() - started:.0f} s")
        failed = not converged or report.attention > 0 or report.unexplained != 0
        print("RESULT:", "FAILED" if failed else "ok, zero discrepancies")
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "orders": args.orders,
                        "seed": args.seed,
                        "stats": dict(run.stats),
                        "discrepancies": {k: len(v) for k, v in problems.items()},
                        "report": {
                            "invoices": report.invoices,
                            "classes": dict(classes),
                            "attention": report.attention,
                            "unexplained": report.unexplained,
                        },
                        "converged_after_seconds": round(converged_after, 1) if converged else None,
                        "failed": failed,
                    },
                    indent=2,
                )
            )
        return 1 if failed else 0
    finally:
        if stack is not None:
            stack.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django was never set up: nothing to close
            pass
        subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop", str(run_dir)], check=False)
        remove_run_dir(run_dir, keep_everything=args.keep, keep_logs=failed)


def remove_run_dir(run_dir: Path, *, keep_everything: bool, keep_logs: bool) -> None:
    """The database alone is about 200 MB a run: it goes, unless asked to keep it. A failed run
    keeps its logs, mail and environment (a few MB) so the failure can be read afterwards."""
    if keep_everything:
        print(f"kept {run_dir}")
        return
    if not keep_logs:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    shutil.rmtree(run_dir / "mariadb", ignore_errors=True)
    print(f"logs kept in {run_dir} (the database removed)")


if __name__ == "__main__":
    sys.exit(main())
