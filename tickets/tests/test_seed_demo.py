import pytest
from django.core.management import call_command
from django.utils import timezone

from tickets.management.commands.seed_demo import DEMO_EVENT_SLUG
from tickets.models import Event, Ticket

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_three_phases_once():
    call_command("seed_demo")
    call_command("seed_demo")
    assert Event.objects.filter(slug=DEMO_EVENT_SLUG).count() == 1
    phases = {t.name: t for t in Ticket.objects.filter(event__slug=DEMO_EVENT_SLUG)}
    assert set(phases) == {"Early Bird", "Regular", "Student"}
    now = timezone.now()
    assert phases["Early Bird"].valid_until < now  # already over
    for name in ("Regular", "Student"):
        assert phases[name].valid_from <= now < phases[name].valid_until
    assert phases["Student"].quota < phases["Regular"].quota


def test_seed_demo_keeps_what_staff_changed():
    call_command("seed_demo")
    Ticket.objects.filter(name="Regular").update(price=400_000)
    call_command("seed_demo")
    assert Ticket.objects.get(name="Regular").price == 400_000


def test_seed_demo_adds_a_voucher_for_the_regular_phase_once():
    from tickets.management.commands.seed_demo import DEMO_VOUCHER_CODE
    from vouchers.models import Voucher

    call_command("seed_demo")
    call_command("seed_demo")
    voucher = Voucher.objects.get(code=DEMO_VOUCHER_CODE)
    assert [ticket.name for ticket in voucher.tickets.all()] == ["Regular"]
    assert voucher.event.slug == DEMO_EVENT_SLUG
