"""Select boxes whose refused value is never said back.

Django's stock `invalid_choice` message ("Select a valid choice. %(value)s is not one of the
available choices.") repeats what was sent: a hand-edited link with `?status=%00` put a raw NUL in
the page, a 100,000-character time zone a 133 KB page. These fields say instead, in a marketer's
words, what to do ("Pick a status from the list."), whatever was sent.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise


class _PickFromList:
    """Takes `refused`, the sentence said when the value is not one of the choices."""

    def __init__(self, *, refused: str | Promise, **kwargs: Any) -> None:
        error_messages = {**kwargs.pop("error_messages", {}), "invalid_choice": refused}
        super().__init__(error_messages=error_messages, **kwargs)  # type: ignore[call-arg]


class ListChoiceField(_PickFromList, forms.ChoiceField):
    """A ChoiceField refused with `refused`, never with the value sent."""


class TypedListChoiceField(_PickFromList, forms.TypedChoiceField):
    """A TypedChoiceField refused with `refused`, never with the value sent."""
