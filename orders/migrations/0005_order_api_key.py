from django.db import migrations


class Migration(migrations.Migration):
    """Order.api_key came from two branches at once (the private order links, for
    GET /api/orders/<code>, and the hoarding caps per API key). The column is added once, by
    0004_placed_by_and_permissions; this migration stays, empty, so databases that applied
    it keep a consistent history."""

    dependencies = [
        ("core", "0002_idempotency_key"),
        ("orders", "0004_order_link_secret"),
    ]

    operations = []
