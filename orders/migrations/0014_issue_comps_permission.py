"""Issuing complimentary tickets gets a permission of its own, for Finance managers: it
needed only the operational one, so all of Finance could give tickets away. Finance
managers may also add and change vouchers (discounts are revenue given too), which only
superusers could. Finance gets
"Undo selected check-ins…" in the admin (`checkin.change_checkin`), which docs/event-day.md
gives it and no group held.

Added, never removed, as in 0005 and 0013: a group changed by hand keeps what was added."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def roles_update(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    managers, _ = Group.objects.get_or_create(name="Finance managers")
    managers.permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="issue_comps"),
        Permission.objects.get(content_type__app_label="vouchers", codename="add_voucher"),
        Permission.objects.get(content_type__app_label="vouchers", codename="change_voucher"),
    )
    finance, _ = Group.objects.get_or_create(name="Finance")
    finance.permissions.add(Permission.objects.get(content_type__app_label="checkin", codename="change_checkin"))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0013_roles_grant_later_permissions"),
        ("vouchers", "0001_initial"),
        ("checkin", "0002_door_staff_group"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="order",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("operate_order", "Can run the operational actions on orders (sync, resend, resolve, buyer contact)"),
                    ("cancel_order", "Can cancel orders"),
                    (
                        "refund_order",
                        "Can record or make refunds, and cancel paid orders with a refund through Xendit",
                    ),
                    ("cancel_event", "Can cancel an event and refund every order"),
                    ("export_personal_data", "Can export buyers' personal data (CSV)"),
                    ("issue_comps", "Can issue complimentary (free, paid) tickets"),
                ],
            },
        ),
        migrations.RunPython(roles_update, migrations.RunPython.noop),
    ]
