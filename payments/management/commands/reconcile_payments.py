from datetime import timedelta

from django.core.management.base import BaseCommand

from orders.checkout.sweeps import invoices_close_left_open, payments_reconcile
from orders.checkout.unknown_invoices import invoices_find_unknown


class Command(BaseCommand):
    help = (
        "Run every reconciliation sweep once, now (what an operator runs after an incident): ask Xendit about "
        "open and recently closed payments and apply what it says, close invoices our expiry or cancel left "
        "open, and look up by our code the invoices whose create had an unknown outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--limit", type=int, default=200, help="At most this many payments per sweep (default 200)."
        )
        parser.add_argument(
            "--late-window-hours",
            type=int,
            default=48,
            help="Also re-check payments of orders that expired or were cancelled this recently (default 48).",
        )

    def handle(self, *args, limit: int, late_window_hours: int, **options):
        late_window = timedelta(hours=late_window_hours)
        # An operator's run is not bound by a Celery time limit: no time budget either.
        unbounded = timedelta(days=1)
        sweeps = {
            "reconcile": payments_reconcile(limit=limit, late_window=late_window, time_budget=unbounded),
            "left_open": invoices_close_left_open(limit=limit, late_window=late_window, time_budget=unbounded),
            "unknown_invoices": invoices_find_unknown(limit=limit, time_budget=unbounded),
        }
        failed = 0
        for name, counts in sweeps.items():
            self.stdout.write(f"{name}: " + " ".join(f"{key}={count}" for key, count in counts.items()))
            failed += counts.get("failed", 0)
        if failed:
            self.stderr.write(self.style.WARNING(f"{failed} payment(s) could not be checked; see the log."))
