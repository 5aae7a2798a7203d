"""The vault: providers, paste validation, expiry, integrations and their credentials."""
