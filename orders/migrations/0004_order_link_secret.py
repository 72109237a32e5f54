import secrets

from django.db import migrations, models

import orders.models


def give_each_order_its_own_secret(apps, schema_editor):
    # AddField computes a callable default once for all existing rows: without this, every
    # order placed before the migration would share one link secret.
    Order = apps.get_model("orders", "Order")
    for order_id in Order.objects.values_list("pk", flat=True).iterator():
        Order.objects.filter(pk=order_id).update(link_secret=secrets.token_urlsafe(32))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_vouchers_and_comps"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="link_secret",
            field=models.CharField(default=orders.models.new_link_secret, editable=False, max_length=64),
        ),
        migrations.RunPython(give_each_order_its_own_secret, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="language",
            field=models.CharField(default="id", help_text="Of the invoice page and emails: id or en.", max_length=5),
        ),
    ]
