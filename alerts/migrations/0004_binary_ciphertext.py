"""Slack webhook URLs move from text (``kv1:...``) to binary columns (version 2 records)."""

from django.db import migrations

from keyvault.migrations._sealed_columns import binary_ciphertext_operations


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_reminder_next_attempt_at"),
        ("keyvault", "0004_binary_ciphertext"),
    ]

    operations = binary_ciphertext_operations("alerts", "channel", ("webhook_ciphertext",))
