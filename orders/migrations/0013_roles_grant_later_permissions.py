"""The roles of 0005_finance_roles again, with what was added since (docs/back-office.md,
"Roles"): 0005 granted the view permissions that existed when it ran, so Finance could not
see refunds, event cancellations or check-ins, "Mark resolved" on reconciliation rows had
no permission anyone held, and "Cancel event and refund everyone" was in no group.

Added, never removed, as in 0005: a group changed by hand keeps what was added to it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALE_APPS = ("tickets", "orders", "payments", "notifications", "vouchers", "reconciliation", "checkin")
FINANCE_EXTRA = [("reconciliation", "operate_reconciliationrow")]
FINANCE_MANAGERS = [("orders", "cancel_event")]


def roles_update(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(pairs):
        return [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in pairs]

    views = Permission.objects.filter(content_type__app_label__in=SALE_APPS, codename__startswith="view_")
    finance, _ = Group.objects.get_or_create(name="Finance")
    finance.permissions.add(*views, *permissions(FINANCE_EXTRA))
    managers, _ = Group.objects.get_or_create(name="Finance managers")
    managers.permissions.add(*permissions(FINANCE_MANAGERS))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_events_cancelled_before"),
        ("payments", "0007_payment_cancelled_not_failed"),
        ("notifications", "0008_resend_is_a_copy"),
        ("tickets", "0005_event_cancelled_at"),
        ("vouchers", "0001_initial"),
        ("reconciliation", "0002_operate_permission"),
        ("checkin", "0002_door_staff_group"),
    ]

    operations = [migrations.RunPython(roles_update, migrations.RunPython.noop)]
