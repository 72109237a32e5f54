"""The "Door staff" group: may use the door page (/checkin/) and nothing else.

Migration 0002 creates it; `door_staff_group()` also makes it when it is missing (a database
flushed by a test, a group deleted by hand), so `create_door_user` always works.
"""

from django.contrib.auth.models import Group, Permission

DOOR_GROUP = "Door staff"
DOOR_PERMISSION = "checkin.use_door"


def door_staff_group() -> Group:
    app_label, codename = DOOR_PERMISSION.split(".")
    group, _ = Group.objects.get_or_create(name=DOOR_GROUP)
    group.permissions.set([Permission.objects.get(content_type__app_label=app_label, codename=codename)])
    return group
