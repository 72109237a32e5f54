# The "Door staff" group: its members may use the door page (/checkin/) and nothing else.
# They are not staff (no admin at all); the permission is created here rather than left to
# post_migrate, so the group has it from the first migrate on.

from django.db import migrations

GROUP = "Door staff"


def create_group(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="checkin", model="checkin")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="use_door",
        defaults={"name": "Can check attendees in at the door page"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set([permission])


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
