"""Demo data for `make run`: one TEDx event with three ticket phases. Safe to run again."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from tickets.models import Event, Ticket
from vouchers.models import Voucher, VoucherKind

DEMO_EVENT_SLUG = "tedxjakarta-2026"
DEMO_VOUCHER_CODE = "KOMUNITAS"


class Command(BaseCommand):
    help = "Create a demo TEDx event with early bird (over), regular and student phases."

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        event, created = Event.objects.get_or_create(
            slug=DEMO_EVENT_SLUG,
            defaults={
                "name": "TEDxJakarta 2026: Ruang Temu",
                "venue": "Teater Jakarta, Taman Ismail Marzuki",
                "city": "Jakarta",
                "description": "A day of ideas worth spreading, in Bahasa Indonesia and English.",
                "starts_at": now + timedelta(days=60),
                "ends_at": now + timedelta(days=60, hours=8),
            },
        )
        phases = [
            (
                "Early Bird",
                250_000,
                100,
                now - timedelta(days=30),
                now - timedelta(days=1),
                0,
                "The first 100 seats, at a lower price. Sold during the first weeks.",
            ),
            (
                "Regular",
                350_000,
                300,
                now - timedelta(days=1),
                now + timedelta(days=55),
                1,
                "A seat for the whole day, lunch and coffee included.",
            ),
            (
                "Student",
                150_000,
                20,
                now - timedelta(days=1),
                now + timedelta(days=55),
                2,
                "For students with a valid student card, checked at the door.",
            ),
        ]
        for name, price, quota, valid_from, valid_until, sort_order, description in phases:
            Ticket.objects.get_or_create(
                event=event,
                name=name,
                defaults={
                    "price": price,
                    "quota": quota,
                    "valid_from": valid_from,
                    "valid_until": valid_until,
                    "sort_order": sort_order,
                    "description": description,
                    "max_per_order": 5 if name != "Student" else 2,
                },
            )
        # A voucher to try at checkout: /events/tedxjakarta-2026/?voucher=KOMUNITAS
        voucher, _ = Voucher.objects.get_or_create(
            event=event,
            code=DEMO_VOUCHER_CODE,
            defaults={"kind": VoucherKind.PERCENT, "value": 20, "max_uses": 50, "note": "Demo: 20% off Regular"},
        )
        if not voucher.tickets.exists():
            voucher.tickets.set(event.tickets.filter(name="Regular"))
        verb = "Created" if created else "Kept"
        self.stdout.write(f"{verb} demo event '{event.name}' with {event.tickets.count()} ticket phases.")
