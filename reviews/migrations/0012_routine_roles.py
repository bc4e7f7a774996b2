"""Routines in the two staff roles (0003_roles): editors keep a routine's dancers, an inline
of the routine's page; moderators read members' routine ratings, linked from the queue's
author history. Nothing else changes."""

from django.db import migrations

ADDED = {
    "Moderators": [("reviews", "view_routinerating")],
    "Editors": [
        ("films", f"{action}_routinedancer") for action in ("add", "change", "delete", "view")
    ],
}


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in codenames
    ]


def add_permissions(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now so the groups
    # can hold them on a fresh database.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    for name, codenames in ADDED.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*_permissions(apps, codenames))


def remove_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, codenames in ADDED.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0011_routine_ratings_best_routine"),
        ("reviews", "0003_roles"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
