"""The two staff roles, with exactly the permissions each needs.

Moderators moderate (reviews, comments, reports, the audit trail, suspensions) and
cannot touch the catalog. Editors keep the catalog and cannot moderate. Both need the
staff flag on their account to reach the admin.
"""

from django.db import migrations

CATALOG_MODELS = ["title", "person", "character", "credit", "crew", "crewmembership", "routine", "trivia"]

ROLES = {
    "Moderators": [
        ("reviews", "view_review"),
        ("reviews", "change_review"),
        ("reviews", "view_comment"),
        ("reviews", "change_comment"),
        ("reviews", "view_report"),
        ("reviews", "view_moderationaction"),
        ("accounts", "view_user"),
        ("accounts", "suspend_user"),
    ],
    "Editors": [
        *(
            ("films", f"{action}_{model}")
            for model in CATALOG_MODELS
            for action in ("add", "change", "delete", "view")
        ),
        ("films", "view_catalogseedrecord"),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; make them now so the groups
    # can hold them on a fresh database.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = original

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codenames
        ]
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_moderation"),
        ("accounts", "0002_suspend_permission"),
        ("films", "0003_title_featured_review"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
