"""Request checks for the contact book: lists (E12), contacts and contact fields (E13), and
attaching contacts to lists (YAML)."""

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.validation.fields import (
    CONTACT_NOT_FOUND,
    FIELD_NOT_FOUND,
    GROUP_NOT_FOUND,
    Errors,
    key,
    read_id_list,
    read_phone,
    read_string,
    require_object,
)
from sandbox.vendor_rules import (
    CHOICE,
    DESCRIPTION,
    FIELD_NAME,
    FIELD_TYPES,
    GROUP_NAME,
    MAX_ATTACH_CONTACTS,
    MAX_ATTACH_GROUPS,
    MAX_CONTACT_GROUPS,
    MAX_FIELDS_DELETED,
    is_int,
    type_message,
)


@dataclass(frozen=True)
class GroupInput:
    name: str
    description: str | None
    default: bool


def group(body: object) -> GroupInput:
    data = require_object(body)
    errors = Errors()
    name = read_string(errors, data, "name", "name", bounds=GROUP_NAME)
    description = read_string(
        errors, data, "description", "description", required=False, bounds=DESCRIPTION
    )
    default = data.get("default")
    if default is not None and not isinstance(default, bool):
        errors.add("default", type_message("bool"))
    errors.raise_if_any()
    return GroupInput(name or "", description, bool(default))


@dataclass(frozen=True)
class ContactInput:
    phone: int
    fields: dict[int, str]
    groups: list[int]


def contact(
    body: object,
    *,
    field_exists: Callable[[int], bool],
    group_exists: Callable[[int], bool],
) -> ContactInput:
    data = require_object(body)
    errors = Errors()
    phone = read_phone(errors, data.get("phone"), "phone")
    values: dict[int, str] = {}
    raw_fields = data.get("fields")
    if raw_fields is not None:
        if not isinstance(raw_fields, list):
            errors.add("fields", type_message("array"))
        else:
            for index, item in enumerate(raw_fields):
                if not isinstance(item, dict):
                    errors.add(key("fields", index), type_message("object"))
                    continue
                field_id = item.get("id")
                if not is_int(field_id):
                    errors.add(key("fields", index, "id"), type_message("integer"))
                elif not field_exists(field_id):  # type: ignore[arg-type]
                    errors.add(key("fields", index, "id"), FIELD_NOT_FOUND)
                value = item.get("value")
                if value is not None and not isinstance(value, str | int | float):
                    errors.add(key("fields", index, "value"), type_message("string"))
                elif is_int(field_id):
                    values[field_id] = "" if value is None else str(value)  # type: ignore[index]
    groups = read_id_list(
        errors,
        data,
        "groups",
        maximum=MAX_CONTACT_GROUPS,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
        required=False,
    )
    errors.raise_if_any()
    return ContactInput(phone or 0, values, groups)


@dataclass(frozen=True)
class FieldInput:
    name: str | None
    type: str | None
    description: str | None
    is_visible: bool | None


def contact_field(body: object, *, partial: bool = False) -> FieldInput:
    """POST /api/contacts/fields (name and type required) or PATCH (any of name, description,
    is_visible)."""
    data = require_object(body)
    errors = Errors()
    name = read_string(errors, data, "name", "name", required=not partial, bounds=FIELD_NAME)
    kind = None
    if not partial:
        kind = read_string(errors, data, "type", "type")
        if kind is not None and kind not in FIELD_TYPES:
            errors.add("type", CHOICE)
    description = read_string(
        errors, data, "description", "description", required=False, bounds=DESCRIPTION
    )
    visible = data.get("is_visible")
    if visible is not None and not isinstance(visible, bool):
        errors.add("is_visible", type_message("bool"))
    errors.raise_if_any()
    return FieldInput(name, kind, description, visible)  # type: ignore[arg-type]


def field_ids(body: object, *, field_exists: Callable[[int], bool]) -> list[int]:
    """POST /api/contacts/fields/delete {ids: 1..30} (YAML PostContactsFieldsDeleteRequest)."""
    data = require_object(body)
    errors = Errors()
    ids = read_id_list(
        errors,
        data,
        "ids",
        maximum=MAX_FIELDS_DELETED,
        known=field_exists,
        not_found=FIELD_NOT_FOUND,
    )
    errors.raise_if_any()
    return ids


def attach(
    body: object,
    *,
    contact_exists: Callable[[int], bool],
    group_exists: Callable[[int], bool],
) -> tuple[list[int], list[int]]:
    """POST /api/groups/attach and /detach: contacts (<= 200) x groups (<= 100) per call."""
    data = require_object(body)
    errors = Errors()
    contacts = read_id_list(
        errors,
        data,
        "contacts",
        maximum=MAX_ATTACH_CONTACTS,
        known=contact_exists,
        not_found=CONTACT_NOT_FOUND,
    )
    groups = read_id_list(
        errors,
        data,
        "groups",
        maximum=MAX_ATTACH_GROUPS,
        known=group_exists,
        not_found=GROUP_NOT_FOUND,
    )
    errors.raise_if_any()
    return contacts, groups
