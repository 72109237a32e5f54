"""The back office's roles as groups (docs/back-office.md, "Roles").

- "Finance": sees everything of the sale (events, phases, vouchers, orders, buyers,
  payments, callbacks, emails), edits events and ticket phases, and runs the operational actions
  (sync with Xendit, resend emails, resolve attention, correct a buyer's contact).
- "Finance managers": the permissions that matter, split out, for the few who need them:
  export buyers' personal data, cancel orders, record or make refunds, replay callbacks.

API keys are for superusers only (their admin checks is_superuser). Permissions are
created here rather than left to post_migrate, so that the groups can be filled on a fresh
database in the same `migrate`. Re-running is harmless: groups and grants are added, never
removed, and a group changed by hand keeps what was added to it.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALE_APPS = ("tickets", "orders", "payments", "notifications", "vouchers", "reconciliation")
FINANCE_EXTRA = [
    ("tickets", "add_event"),
    ("tickets", "change_event"),
    ("tickets", "add_ticket"),
    ("tickets", "change_ticket"),
    ("orders", "operate_order"),
    ("payments", "operate_payment"),
    ("notifications", "operate_notification"),
]
FINANCE_MANAGERS = [
    ("orders", "export_personal_data"),
    ("orders", "cancel_order"),
    ("orders", "refund_order"),
    ("payments", "replay_webhookevent"),
]


def roles_create(apps, schema_editor):
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
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0004_placed_by_and_permissions"),
        ("payments", "0005_permissions"),
        ("notifications", "0004_permissions"),
        ("tickets", "0002_buyer_limits_hidden_phases"),
        ("vouchers", "0001_initial"),
        ("reconciliation", "0001_initial"),
    ]

    operations = [migrations.RunPython(roles_create, migrations.RunPython.noop)]
