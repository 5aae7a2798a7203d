"""The columns of the inventory spreadsheet, shared by the import and the export.

A header matches a column by its name or an alias, whatever its case, spaces, hyphens or
underscores ("Owner email", "owner_email" and "OWNER-EMAIL" are one column). The export writes
the same headers (never the two secret ones), so an exported file imports again, as metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    field: str  # the import form's field
    header: str  # as documented and exported
    aliases: tuple[str, ...] = ()
    secret: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "name", ("integration",)),
    Column("provider", "provider"),
    Column("identity_provider", "identity provider", ("idp",)),
    Column("owner", "owner"),
    Column("owner_email", "owner email"),
    Column("issued_on", "issued", ("issued on", "issued at")),
    Column("expires_on", "expires", ("expires on", "expires at", "expiry")),
    Column("notes", "notes"),
    Column("scim_url", "scim url", ("scim base url",), secret=True),
    Column("token", "token", ("api key", "key"), secret=True),
)
#: What the ``expires`` cell says of a key whose expiry nobody knows (any case): the import
#: saves it as the paste form's "Expiry unknown — legacy key" does, and the export writes it
#: back for such a key, so an exported file imports again with the expiry still unconfirmed.
EXPIRY_UNKNOWN = "unknown"
#: Headers a file must have.
REQUIRED = ("name", "provider")
#: Columns the export adds after the importable ones (read back, they are ignored).
EXPORT_ONLY = ("status", "secret stored here", "token hint", "integration id")

HEADER_OF = {column.field: column.header for column in COLUMNS}
_BY_NAME = {name: column.field for column in COLUMNS for name in (column.header, *column.aliases)}


def header_normalise(text: str) -> str:
    """ "Owner-Email " -> "owner email"."""
    return re.sub(r"[\s_\-]+", " ", text).strip().lower()


def column_for(header: str) -> str | None:
    """The form field a header names, or None for a column keyvault does not read."""
    return _BY_NAME.get(header_normalise(header))
