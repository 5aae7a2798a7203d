"""Credential secrets move from text (``kv1:...``) to binary columns (version 2 records)."""

from django.db import migrations

from keyvault.migrations._sealed_columns import binary_ciphertext_operations


class Migration(migrations.Migration):
    dependencies = [
        ("keyvault", "0003_thresholds_validator_audit_base_manager"),
    ]

    operations = binary_ciphertext_operations(
        "keyvault", "credential", ("scim_url_ciphertext", "token_ciphertext")
    )
