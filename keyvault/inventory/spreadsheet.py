"""Reading an uploaded inventory spreadsheet (CSV or XLSX) into rows of text, in memory.

The upload is never written anywhere: it is read from the bytes of the request and dropped.
XLSX goes through ``openpyxl`` in read-only mode (``defusedxml`` guards its XML parsing), CSV
through the standard library (UTF-8, with or without a byte-order mark; comma, semicolon or
tab). Every cell becomes text: dates as ``YYYY-MM-DD``, whole numbers without ``.0``. A cell
holding a formula is marked (``RawRow.formulas``), never evaluated: keyvault refuses it.

Messages never quote a cell: a file's cells may hold tokens.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db import models

from keyvault.audit.export import FORMULA_START
from keyvault.inventory.columns import REQUIRED, column_for, header_normalise


class SheetFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class SheetError(Exception):
    """The file cannot be read as an inventory; the message says why (never a cell)."""


@dataclass(frozen=True)
class RawRow:
    """One data row: its number in the file (the header is row 1 when it is the first line),
    its cells by form field, and the fields whose cell held a formula."""

    number: int
    values: dict[str, str]
    formulas: frozenset[str] = frozenset()

    def __repr__(self) -> str:  # cells may hold a token
        return f"RawRow(number={self.number})"


@dataclass(frozen=True)
class Table:
    format: SheetFormat
    digest: str  # SHA-256 of the file: the dry run and the import must read the same file
    rows: list[RawRow]
    ignored: list[str] = field(default_factory=list)  # headers keyvault does not read


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unescape(text: str) -> str:
    """A cell an export made formula-safe (``'=…``, ``keyvault.audit.export.csv_safe``) back
    to what was stored."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


def _csv_cells(data: bytes) -> Iterator[list[tuple[str, bool]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError("The CSV file is not UTF-8 text; save it as “CSV UTF-8”.") from None
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    try:
        for line in csv.reader(io.StringIO(text, newline=""), dialect):
            yield [(_unescape(cell), False) for cell in line]
    except csv.Error:
        raise SheetError("The CSV file is malformed (an unclosed quote?).") from None


def _xlsx_cells(data: bytes) -> Iterator[list[tuple[str, bool]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise SheetError("The file is not an XLSX workbook keyvault can read.") from None
    except Exception:  # openpyxl's own errors for a damaged workbook
        raise SheetError("The file is not an XLSX workbook keyvault can read.") from None
    try:
        sheet = book.worksheets[0]
        for cells in sheet.iter_rows():
            yield [
                (_unescape(_text(cell.value)), getattr(cell, "data_type", "") == "f")
                for cell in cells
            ]
    finally:
        book.close()


def _rows(lines: Iterable[list[tuple[str, bool]]]) -> tuple[list[RawRow], list[str]]:
    header: list[str | None] | None = None
    ignored: list[str] = []
    rows: list[RawRow] = []
    for number, line in enumerate(lines, start=1):
        if not any(text.strip() for text, _ in line):
            continue  # blank lines, before the header or between rows
        if header is None:
            names = [text for text, _ in line]
            header = [column_for(name) for name in names]
            ignored = [header_normalise(n) for n, f in zip(names, header, strict=True) if not f]
            missing = [name for name in REQUIRED if name not in header]
            if missing:
                raise SheetError(
                    "The first row must name the columns; missing: " + ", ".join(missing) + "."
                )
            continue
        if len(rows) >= settings.KEYVAULT_IMPORT_MAX_ROWS:
            raise SheetError(
                f"The file has more than {settings.KEYVAULT_IMPORT_MAX_ROWS} rows; split it."
            )
        values: dict[str, str] = {}
        formulas: set[str] = set()
        for key, (text, is_formula) in zip(header, line, strict=False):
            if key is None:
                continue
            values[key] = text
            if is_formula:
                formulas.add(key)
        rows.append(RawRow(number=number, values=values, formulas=frozenset(formulas)))
    if header is None:
        raise SheetError("The file is empty.")
    return rows, [name for name in ignored if name]


def table_read(data: bytes) -> Table:
    """The rows of an uploaded CSV or XLSX file (told apart by content, not by name).

    Raises ``SheetError`` for a file that cannot be read, lacks the required headers or has
    more than ``KEYVAULT_IMPORT_MAX_ROWS`` rows.
    """
    if not data:
        raise SheetError("The file is empty.")
    fmt = SheetFormat.XLSX if data.startswith(b"PK\x03\x04") else SheetFormat.CSV
    lines = _xlsx_cells(data) if fmt == SheetFormat.XLSX else _csv_cells(data)
    rows, ignored = _rows(lines)
    return Table(format=fmt, digest=hashlib.sha256(data).hexdigest(), rows=rows, ignored=ignored)
