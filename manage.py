#!/usr/bin/env python
"""keyvault's command-line entry point."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "keyvault.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # One clear line instead of a traceback: configuration errors are the operator's to fix.
        sys.stderr.write(f"keyvault: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
