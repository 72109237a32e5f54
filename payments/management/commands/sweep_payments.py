from datetime import timedelta

from django.core.management.base import BaseCommand

from orders.checkout.sweeps import payments_sweep


class Command(BaseCommand):
    help = (
        "Run the payments sweep once, now (what an operator runs after an incident): ask Xendit about pending "
        "and recently closed payments and apply what it says (heals lost callbacks), expire at Xendit the "
        "invoices our expiry or cancel left open, and look up by our code the invoices whose create had an "
        "unknown outcome."
    )

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many payments (default 200).")
        parser.add_argument(
            "--late-window-hours",
            type=int,
            default=48,
            help="Also re-check payments of orders that expired or were cancelled this recently (default 48).",
        )

    def handle(self, *args, limit: int, late_window_hours: int, **options):
        # An operator's run is not bound by a Celery time limit: no time budget either.
        counts = payments_sweep(
            limit=limit, late_window=timedelta(hours=late_window_hours), time_budget=timedelta(days=1)
        )
        self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
        if counts["failed"]:
            self.stderr.write(self.style.WARNING(f"{counts['failed']} payment(s) could not be checked; see the log."))
