"""The sign-in forms (ours at /accounts/login/ and admin's): Django's, with the user name held to
the longest a user can have.

Django's AuthenticationForm sets the field's max_length after the field is built, so the limit
is shown to browsers but never checked: a 100,000-character name went on to authenticate(),
and django-axes wrote it into its 255-character log of failed attempts (a 500). Refused beside
the field instead, before anyone tries to sign in with it: no user has such a name.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class _BoundedUserName:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginForm(_BoundedUserName, AuthenticationForm):
    pass


class AdminLoginForm(_BoundedUserName, AdminAuthenticationForm):
    pass
