"""Forms of the import pages: the upload, the column mapping, and reading the file again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from contacts.importing import mapping as mapping_rules
from contacts.importing.reading import DELIMITER_NAMES
from contacts.importing.services import (
    NEW_FIELD_PREFIX,
    file_too_big_message,
    max_upload_bytes,
)
from contacts.importing.services import contact_import_held_upload as held_upload
from contacts.models import ContactField, ContactImport, ContactList

ENCODING_CHOICES = [
    ("utf-8", gettext_lazy("UTF-8 (with or without BOM)")),
    ("cp1251", gettext_lazy("Windows-1251 (Cyrillic, older Excel)")),
]


class ImportUploadForm(forms.Form):
    """The upload. A valid file on a form sent back for another field's error is kept
    (services.contact_import_hold_upload) and named by `held_file`, so it need not be chosen
    again; a new file chosen meanwhile replaces it."""

    file = forms.FileField(
        label=gettext_lazy("CSV or XLSX file"),
        help_text=gettext_lazy(
            "Comma, semicolon or tab separated; UTF-8 or Windows-1251. "
            "The first row names the columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
        # Not required as such: a file kept from the last try (held_file) stands for it.
        required=False,
    )
    held_file = forms.CharField(required=False, widget=forms.HiddenInput)
    target = forms.ChoiceField(
        label=gettext_lazy("Import into"),
        choices=ContactImport.Target.choices,
        initial=ContactImport.Target.CONTACTS,
        widget=forms.RadioSelect,
    )
    contact_list = forms.ModelChoiceField(
        label=gettext_lazy("Contact list"),
        queryset=ContactList.objects.filter(archived_at__isnull=True),
        required=False,
        empty_label=gettext_lazy("— choose a list —"),
    )
    new_list_name = forms.CharField(
        label=gettext_lazy("…or create a new list named"), max_length=200, required=False
    )
    on_existing = forms.ChoiceField(
        label=gettext_lazy("Numbers already known"),
        choices=ContactImport.OnExisting.choices,
        initial=ContactImport.OnExisting.SKIP,
        widget=forms.RadioSelect,
        help_text=gettext_lazy(
            "Known contacts always join the list; “update” also takes their name and "
            "field values from the file (empty cells never erase anything)."
        ),
    )
    reason = forms.CharField(
        label=gettext_lazy("Opt-out reason"),
        max_length=500,
        required=False,
        help_text=gettext_lazy(
            "For opt-out imports: recorded for rows whose file gives no reason."
        ),
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Text encoding"),
        choices=[("", gettext_lazy("Detect automatically")), *ENCODING_CHOICES],
        required=False,
    )

    def __init__(self, *args, user_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id = user_id
        self.held_name = ""  # the name of a file kept from the last try, shown by the page

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload:
            return upload
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(file_too_big_message(upload.size))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("file") and "file" not in self.errors:
            held = None
            if cleaned.get("held_file"):
                held = held_upload(token=cleaned["held_file"], user_id=self.user_id)
            if held is None and self.data.get(self.add_prefix("held_file")):
                # Older than HELD_FOR, used already, another person's, or not a token at all:
                # the same words for each, which tell a stranger nothing.
                self.add_error(
                    "file", _("The file you chose before is no longer kept; choose it again.")
                )
            elif held is None:
                self.add_error("file", forms.Field.default_error_messages["required"])
            else:
                cleaned["file"] = held
                self.held_name = held.name
        if cleaned.get("target") == ContactImport.Target.CONTACTS:
            if not cleaned.get("contact_list") and not cleaned.get("new_list_name", "").strip():
                self.add_error("contact_list", _("Choose a list, or name a new one."))
            if cleaned.get("contact_list") and cleaned.get("new_list_name", "").strip():
                self.add_error("new_list_name", _("Choose a list or name a new one, not both."))
        return cleaned


class ImportUploadQueryForm(forms.Form):
    """Links to the upload page: `?list=<id>` ("Import into this list") chooses that list,
    `?target=do_not_contact` the opt-out import. A link, not a form to correct: a value that is
    not one chooses nothing."""

    list = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    target = forms.ChoiceField(required=False, choices=ContactImport.Target.choices)

    def initial_for_upload(self) -> dict:
        if not self.is_valid():
            return {}
        initial: dict = {}
        if self.cleaned_data["list"] is not None:
            initial["contact_list"] = self.cleaned_data["list"]
            initial["target"] = ContactImport.Target.CONTACTS
        if self.cleaned_data["target"]:
            initial["target"] = self.cleaned_data["target"]
        return initial


class ImportMappingForm(forms.Form):
    """One select per column of the file: what that column feeds."""

    def __init__(self, *args, contact_import: ContactImport, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact_import = contact_import
        for_opt_outs = contact_import.target == ContactImport.Target.DO_NOT_CONTACT
        fields = list(ContactField.objects.values_list("key", "label"))
        known_keys = {key for key, _ in fields}
        samples = contact_import.sample_rows or []
        for position, header in enumerate(contact_import.headers):
            column = str(position)
            choices: list[tuple[str, str]] = [
                (mapping_rules.IGNORE, _("Ignore this column")),
                (mapping_rules.PHONE, _("Phone")),
            ]
            if for_opt_outs:
                choices.append((mapping_rules.REASON, _("Reason")))
            else:
                choices.append((mapping_rules.NAME, pgettext("a person's name", "Name")))
                choices += [
                    (
                        mapping_rules.field_target(key),
                        _("Field: %(label)s (%(key)s)") % {"label": label, "key": key},
                    )
                    for key, label in fields
                ]
                new_key = mapping_rules.new_field_key(header, position=position)
                if new_key not in known_keys and new_key not in (
                    mapping_rules.PHONE,
                    mapping_rules.NAME,
                ):
                    choices.append(
                        (NEW_FIELD_PREFIX + new_key, _("New field: %(key)s") % {"key": new_key})
                    )
            initial = contact_import.mapping.get(column, mapping_rules.IGNORE)
            if initial not in {value for value, _ in choices}:
                initial = mapping_rules.IGNORE
            self.fields[f"column_{column}"] = forms.ChoiceField(
                label=header or _("Column %(number)s") % {"number": position + 1},
                choices=choices,
                initial=initial,
                required=False,
            )
            self.fields[f"column_{column}"].samples = [
                row[position] for row in samples if position < len(row)
            ]

    def mapping(self) -> dict[str, str]:
        return {
            name.removeprefix("column_"): value or mapping_rules.IGNORE
            for name, value in self.cleaned_data.items()
        }


class ImportRereadForm(forms.Form):
    encoding = forms.ChoiceField(label=gettext_lazy("Encoding"), choices=ENCODING_CHOICES)
    delimiter = forms.ChoiceField(
        label=gettext_lazy("Delimiter"),
        choices=[(value, name) for value, name in DELIMITER_NAMES.items()],
    )
