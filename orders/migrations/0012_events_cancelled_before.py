"""Events cancelled before `Event.cancelled_at` existed: marked from their cancellation, so
that their phases cannot be put back on sale either."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def mark_cancelled_events(apps, schema_editor):
    Event = apps.get_model("tickets", "Event")
    EventCancellation = apps.get_model("orders", "EventCancellation")
    requested = EventCancellation.objects.filter(event_id=OuterRef("pk")).values("requested_at")[:1]
    Event.objects.filter(cancelled_at__isnull=True, cancellation__isnull=False).update(cancelled_at=Subquery(requested))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0011_refund_failed_flag"),
        ("tickets", "0005_event_cancelled_at"),
    ]

    operations = [migrations.RunPython(mark_cancelled_events, migrations.RunPython.noop)]
