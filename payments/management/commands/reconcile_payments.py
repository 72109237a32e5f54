from datetime import timedelta

from django.core.management.base import BaseCommand

from orders.checkout.sweeps import payments_reconcile


class Command(BaseCommand):
    help = "Ask Xendit about open and recently expired payments and apply what it says (heals lost callbacks)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="At most this many payments (default 200).")
        parser.add_argument(
            "--late-window-hours",
            type=int,
            default=48,
            help="Also re-check payments of orders that expired or were cancelled this recently (default 48).",
        )

    def handle(self, *args, limit: int, late_window_hours: int, **options):
        counts = payments_reconcile(limit=limit, late_window=timedelta(hours=late_window_hours))
        self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
        if counts["failed"]:
            self.stderr.write(self.style.WARNING(f"{counts['failed']} payment(s) could not be checked; see the log."))
