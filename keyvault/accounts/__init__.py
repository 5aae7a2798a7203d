"""Team access: user accounts and their roles."""
