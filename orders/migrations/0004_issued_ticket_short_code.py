# A short, typeable code for every e-ticket (orders/ticket_codes.py), filled in for the
# tickets issued before it existed: each gets its own random code, then the column becomes
# unique and required.

from django.db import migrations, models

import orders.ticket_codes


def fill_short_codes(apps, schema_editor):
    IssuedTicket = apps.get_model("orders", "IssuedTicket")
    used = set()
    for issued in IssuedTicket.objects.filter(short_code__isnull=True).only("pk").iterator():
        code = orders.ticket_codes.new_short_code()
        while code in used:
            code = orders.ticket_codes.new_short_code()
        used.add(code)
        IssuedTicket.objects.filter(pk=issued.pk).update(short_code=code)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_vouchers_and_comps"),
    ]

    operations = [
        migrations.AddField(
            model_name="issuedticket",
            name="short_code",
            field=models.CharField(editable=False, max_length=10, null=True),
        ),
        migrations.RunPython(fill_short_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="issuedticket",
            name="short_code",
            field=models.CharField(
                default=orders.ticket_codes.new_short_code, editable=False, max_length=10, unique=True
            ),
        ),
        migrations.AddField(
            model_name="issuedticket",
            name="attendee_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name="orderevent",
            name="source",
            field=models.CharField(
                choices=[
                    ("api", "API"),
                    ("checkout", "Checkout"),
                    ("webhook", "Xendit callback"),
                    ("reconcile", "Reconciliation"),
                    ("expiry", "Expiry"),
                    ("admin", "Admin"),
                    ("door", "Door check-in"),
                    ("system", "System"),
                ],
                max_length=12,
            ),
        ),
    ]
