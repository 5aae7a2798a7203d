"""Out of the box, reminders go by email to each integration's owner."""

from django.db import migrations


def create_owner_channel(apps, schema_editor):
    Channel = apps.get_model("alerts", "Channel")
    Channel.objects.get_or_create(
        name="Integration owners (email)",
        defaults={"kind": "email", "is_default": True, "email_to_owner": True},
    )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(create_owner_channel, migrations.RunPython.noop)]
