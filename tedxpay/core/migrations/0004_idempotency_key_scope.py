# The checkout form's tokens join the API's idempotency keys: a key belongs to a scope
# (`api-key:<id>` or `checkout-form`) instead of an API key, unique per scope.

from django.db import migrations, models
from django.db.models.functions import Cast, Concat


def scope_from_api_key(apps, schema_editor):
    IdempotencyKey = apps.get_model("core", "IdempotencyKey")
    IdempotencyKey.objects.update(scope=Concat(models.Value("api-key:"), Cast("api_key_id", models.CharField())))


def forget_every_key(apps, schema_editor):
    # Going back: the old table cannot hold a checkout token (it has no API key). Keys are
    # a 24-hour memory; losing them lets a retry place its order once more at worst.
    apps.get_model("core", "IdempotencyKey").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_api_key_scopes"),
    ]

    operations = [
        migrations.AddField(
            model_name="idempotencykey",
            name="scope",
            field=models.CharField(default="", help_text="Whose key: api-key:<id> or checkout-form.", max_length=40),
            preserve_default=False,
        ),
        migrations.RunPython(scope_from_api_key, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="idempotencykey", name="idempotency_key_once_per_api_key"),
        migrations.RemoveField(model_name="idempotencykey", name="api_key"),
        migrations.RunPython(migrations.RunPython.noop, forget_every_key),
        migrations.AlterField(
            model_name="idempotencykey",
            name="fingerprint",
            field=models.CharField(help_text="SHA-256 of method, path and body.", max_length=64),
        ),
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(fields=("scope", "key"), name="idempotency_key_once_per_scope"),
        ),
    ]
