"""Forms of the inventory pages: the spreadsheet upload and the export format."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler

from keyvault.inventory.spreadsheet import SheetFormat


class InMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps the whole upload in memory (never a temporary file on disk, where a file of
    tokens would outlive the request); the view refuses bodies over
    ``KEYVAULT_IMPORT_MAX_BYTES`` before this runs."""

    def handle_raw_input(self, *args: Any, **kwargs: Any) -> None:
        self.activated = True


class ImportForm(forms.Form):
    """The file, and what to do with it: check it (dry run) or import it."""

    file = forms.FileField(
        label="Spreadsheet (CSV or XLSX)",
        help_text="The first row names the columns; see the list below.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )
    #: The SHA-256 of the file the dry run read; the import must read the same file.
    checked = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    intent = forms.ChoiceField(
        choices=[("dry_run", "Dry run"), ("import", "Import")],
        initial="dry_run",
        widget=forms.HiddenInput,
    )

    def clean_file(self) -> bytes:
        upload = self.cleaned_data["file"]
        if upload.size > settings.KEYVAULT_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.KEYVAULT_IMPORT_MAX_BYTES // (1024 * 1024)} "
                "MB; split it."
            )
        data: bytes = upload.read()
        return data


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=SheetFormat.choices, initial=SheetFormat.CSV)
