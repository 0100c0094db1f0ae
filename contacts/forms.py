"""Forms for lists, fields, contacts and the do-not-contact list.

Forms check what a person typed and say precisely what is wrong; the services do the writing
and repeat the checks that need the database (unique names, unique numbers).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from config.choices import ListChoiceField, TypedListChoiceField
from config.paging import CursorField, PagedForm

from .models import FIELD_KEY_VALIDATOR, ContactField, ContactList, DoNotContact
from .phones import InvalidPhone, normalize_phone
from .selectors import CONTACT_KEYSET, DO_NOT_CONTACT_KEYSET
from .services import BSG_FIELD_NAME_MAX, BSG_FIELD_TYPES


class PhoneField(forms.CharField):
    """A phone in any usual format, cleaned to stored digits by contacts.phones."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("label", gettext_lazy("Phone"))
        kwargs.setdefault(
            "help_text",
            gettext_lazy(
                "With country code (+380 50 123 4567), or a number of the default region."
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value and not self.required:
            return ""
        try:
            return normalize_phone(value)
        except InvalidPhone as exc:
            raise ValidationError(
                _("Not a phone number we can send to: %(reason)s.") % {"reason": exc}
            ) from exc


class ContactListForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("contact list", "Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("A list needs a name."))
        return name


class LinkGroupForm(forms.Form):
    """Pick one of the account's BSG groups; choices come from BSG (E12) at the view."""

    group_id = forms.TypedChoiceField(coerce=int, label=gettext_lazy("BSG list"))

    def __init__(self, *args: Any, groups: list, claimed: dict[int, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", _("— choose a BSG list —"))]
        for group in groups:
            label = _("%(name)s · id %(id)s") % {
                "name": group.name or _("(no name)"),
                "id": group.id,
            }
            if group.contacts_count is not None:
                label += ngettext(
                    " · %(count)s contacts", " · %(count)s contacts", group.contacts_count
                ) % {"count": group.contacts_count}
            if group.id in claimed:
                label += _(" · linked to “%(list)s”") % {"list": claimed[group.id]}
            choices.append((str(group.id), label))
        self.fields["group_id"].choices = choices


class ContactFieldForm(forms.Form):
    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=50,
        validators=[FIELD_KEY_VALIDATOR],
        help_text=gettext_lazy(
            "Used in templates as {key}; lowercase letters, digits and underscores."
        ),
    )
    label = forms.CharField(label=gettext_lazy("Label"), max_length=100)
    bsg_field_id = forms.TypedChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label=gettext_lazy("BSG field"),
        help_text=gettext_lazy(
            "The field's number in BSG's contact book: a text sent to a whole linked contact "
            "book names it by this number, such as {17}."
        ),
    )

    def __init__(
        self, *args: Any, bsg_fields: list, editing: ContactField | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        taken = dict(
            ContactField.objects.filter(bsg_field_id__isnull=False).values_list(
                "bsg_field_id", "key"
            )
        )
        choices = [("", _("— not linked —"))]
        known = set()
        for bsg_field in bsg_fields:
            known.add(bsg_field.id)
            label = f"{bsg_field.name or _('(no name)')} · {{{bsg_field.id}}}"
            owner = taken.get(bsg_field.id)
            if owner and (editing is None or owner != editing.key):
                label += _(" · linked to %(key)s") % {"key": owner}
            choices.append((str(bsg_field.id), label))
        if editing is not None and editing.bsg_field_id and editing.bsg_field_id not in known:
            # BSG could not be asked, or the field is gone there: keep the link selectable.
            choices.append((str(editing.bsg_field_id), f"{{{editing.bsg_field_id}}}"))
        self.fields["bsg_field_id"].choices = choices
        if editing is not None:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = _(
                "A key cannot change: contacts' values and templates use it."
            )


class BsgFieldCreateForm(forms.Form):
    """Create a field in the BSG account and here at once."""

    key = forms.CharField(
        label=gettext_lazy("Key"), max_length=50, validators=[FIELD_KEY_VALIDATOR]
    )
    label = forms.CharField(label=gettext_lazy("Label"), max_length=BSG_FIELD_NAME_MAX)
    bsg_type = forms.ChoiceField(
        choices=[(t, t) for t in BSG_FIELD_TYPES], initial="text", label=gettext_lazy("BSG type")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].help_text = ngettext(
            "BSG allows %(count)s characters.",
            "BSG allows %(count)s characters.",
            BSG_FIELD_NAME_MAX,
        ) % {"count": BSG_FIELD_NAME_MAX}


class ContactForm(forms.Form):
    phone = PhoneField()
    name = forms.CharField(
        label=pgettext_lazy("a person's name", "Name"), max_length=200, required=False
    )
    lists = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Lists"),
        queryset=ContactList.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, contact_fields: list[ContactField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contact_fields = contact_fields
        self.fields["lists"].queryset = ContactList.objects.filter(archived_at__isnull=True)
        for contact_field in contact_fields:
            self.fields[f"field_{contact_field.key}"] = forms.CharField(
                label=contact_field.label, max_length=1000, required=False
            )

    def field_values(self) -> dict[str, str]:
        return {f.key: self.cleaned_data.get(f"field_{f.key}", "") for f in self.contact_fields}


class ContactPageForm(PagedForm):
    """A page of a list's members: only the page links."""

    after = CursorField(CONTACT_KEYSET)
    before = CursorField(CONTACT_KEYSET)


def field_key_choices(contact_fields: list[ContactField]) -> list[tuple[str, str]]:
    """Each field offered by its label, the name a person gave it; the key follows only where
    two fields share a label, so the two can be told apart."""
    labels = [f.label or f.key for f in contact_fields]
    shared = {label for label in labels if labels.count(label) > 1}
    return [
        (f.key, f"{label} ({f.key})" if label in shared else label)
        for f, label in zip(contact_fields, labels, strict=True)
    ]


class ContactSearchForm(ContactPageForm):
    q = forms.CharField(
        required=False,
        max_length=200,
        label=gettext_lazy("Search"),
        help_text=gettext_lazy("A name, a phone number or any field value, or part of one."),
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("Olena, +380 50 123, Kyiv")}),
    )
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=40)
    name = forms.CharField(
        label=pgettext_lazy("a person's name", "Name"), required=False, max_length=200
    )
    field_key = ListChoiceField(
        required=False,
        label=gettext_lazy("Field"),
        refused=gettext_lazy("That field does not exist. Pick a field from the list."),
    )
    field_value = forms.CharField(required=False, max_length=1000, label=gettext_lazy("equals"))
    list_id = TypedListChoiceField(
        coerce=int,
        empty_value=None,
        required=False,
        label=gettext_lazy("List"),
        refused=gettext_lazy("That list does not exist. Pick a list from the choices."),
    )

    def __init__(
        self,
        *args: Any,
        lists: list[ContactList],
        contact_fields: list[ContactField],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field_key"].choices = [
            ("", _("— any field —")),
            *field_key_choices(contact_fields),
        ]
        self.fields["list_id"].choices = [("", _("— any list —"))] + [
            (str(x.id), x.name) for x in lists
        ]


class DoNotContactForm(forms.Form):
    phone = PhoneField()
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)


class DoNotContactSearchForm(PagedForm):
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=40)
    source = ListChoiceField(
        label=gettext_lazy("Source"),
        refused=gettext_lazy("That source does not exist. Pick a source from the list."),
        required=False,
        choices=[("", gettext_lazy("— any source —")), *DoNotContact.Source.choices],
    )
    after = CursorField(DO_NOT_CONTACT_KEYSET)
    before = CursorField(DO_NOT_CONTACT_KEYSET)


# --- the small forms behind links and buttons: each names what it takes ------------------------


class ContactNewQueryForm(forms.Form):
    """ "Add a contact" from a list's page: `?list=<id>` ticks that list in the form."""

    list = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)


class ListIndexForm(forms.Form):
    """`?archived=1` shows the archived lists instead of the active ones."""

    archived = forms.TypedChoiceField(
        choices=[("1", gettext_lazy("Archived")), ("0", gettext_lazy("Active"))],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=False,
    )


class ListArchiveForm(forms.Form):
    """The list page's Archive button, or with `archive=0` its Unarchive button."""

    archive = forms.TypedChoiceField(
        choices=[("1", gettext_lazy("Archive")), ("0", gettext_lazy("Unarchive"))],
        coerce=lambda value: value != "0",
        required=False,
        empty_value=True,
    )
