"""Who may do what: every URL name mapped to the one Django permission it needs.

One table, read by AccessMiddleware on every request (the guard) and by the `can` context
processor (templates hide buttons the user cannot use; hiding is only cosmetic). A URL name
that is not in the table is refused, so a new view stays closed until someone decides who may
use it; tests/access checks that every URL in the resolver has a row here.

A row is either one permission for every method, or {"GET": …, "POST": …} when reading and
writing differ. "GET" also covers HEAD and OPTIONS; "POST" covers every unsafe method. A method
missing from the row is refused.

The groups that hold these permissions are made by campaigns/migrations/0004: Viewers (every
view_ permission of campaigns and contacts), Campaign authors and Campaign approvers.

Admin, login, logout and password views stay outside the table: Django guards those itself. So
do the language switcher and the JavaScript catalogue, which anyone may use, and "Your
settings", which every signed-in person may use for their own account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy
from django_htmx.http import HttpResponseClientRedirect

Rule = str | Mapping[str, str]

VIEW_CAMPAIGN = "campaigns.view_campaign"
CHANGE_CAMPAIGN = "campaigns.change_campaign"
ADD_CAMPAIGN = "campaigns.add_campaign"
APPROVE_CAMPAIGN = "campaigns.approve_campaign"
STOP_CAMPAIGN = "campaigns.stop_campaign"
EXPORT_CONTACTS = "contacts.export_contact"

ACCESS: dict[str, Rule] = {
    # --- campaigns -----------------------------------------------------------------------------
    "campaigns:home": VIEW_CAMPAIGN,
    "campaigns:bsg-account": VIEW_CAMPAIGN,
    "campaigns:list": VIEW_CAMPAIGN,
    "campaigns:detail": VIEW_CAMPAIGN,
    "campaigns:parts": VIEW_CAMPAIGN,
    "campaigns:home-sending": VIEW_CAMPAIGN,
    "campaigns:list-live": VIEW_CAMPAIGN,
    "campaigns:chart": VIEW_CAMPAIGN,
    "campaigns:recipients": VIEW_CAMPAIGN,
    # A form page is only shown to those who may submit it.
    "campaigns:new": ADD_CAMPAIGN,
    "campaigns:edit": CHANGE_CAMPAIGN,
    # The composer's live preview renders the form as typed and saves nothing.
    "campaigns:preview": ADD_CAMPAIGN,
    # The preview for one recipient the author chooses: the same, with contacts' details.
    "campaigns:preview-recipient": ADD_CAMPAIGN,
    # The same preview of a saved campaign, read-only (GET): what an approver approves.
    "campaigns:recipient": VIEW_CAMPAIGN,
    "campaigns:duplicate": ADD_CAMPAIGN,
    # Back to draft (also withdraws a request for approval): nothing goes out by it.
    "campaigns:unschedule": CHANGE_CAMPAIGN,
    "campaigns:plan": {"GET": VIEW_CAMPAIGN, "POST": "campaigns.add_sendplan"},
    # A test send is one real SMS to one phone, part of composing.
    "campaigns:test-send": "campaigns.add_testsend",
    "campaigns:test-send-status": VIEW_CAMPAIGN,
    "campaigns:approval-request": CHANGE_CAMPAIGN,
    "campaigns:approve": APPROVE_CAMPAIGN,
    "campaigns:reject": APPROVE_CAMPAIGN,
    "campaigns:stop": STOP_CAMPAIGN,
    # The confirmation step of Stop: shown only to those who may stop.
    "campaigns:stop-confirm": STOP_CAMPAIGN,
    # Resuming held parts and retrying the failed recipients both send more messages.
    "campaigns:part-resume": "campaigns.change_campaignpart",
    "campaigns:resume": "campaigns.change_campaignpart",
    "campaigns:retry-failed": APPROVE_CAMPAIGN,
    "campaigns:ledger-csv": EXPORT_CONTACTS,
    "campaigns:dnc-failures": "contacts.add_donotcontact",
    # Anyone who composes may set up a recurring campaign; it waits for an approver, and
    # nothing fires until someone other than its authors approves it.
    "campaigns:schedules": {
        "GET": "campaigns.view_campaignschedule",
        "POST": "campaigns.add_campaignschedule",
    },
    "campaigns:schedule-approve": APPROVE_CAMPAIGN,
    "campaigns:schedule-pause": "campaigns.change_campaignschedule",
    # Putting campaigns away: archive and restore only hide or show (campaigns.archive);
    # deleting is for drafts only.
    "campaigns:archive": CHANGE_CAMPAIGN,
    "campaigns:restore": CHANGE_CAMPAIGN,
    "campaigns:delete": "campaigns.delete_campaign",
    # Saved message templates: authors keep the library, everyone reads it; starting a
    # campaign from one is composing.
    "campaigns:templates": "campaigns.view_messagetemplate",
    "campaigns:template-new": "campaigns.add_messagetemplate",
    "campaigns:template-edit": "campaigns.change_messagetemplate",
    "campaigns:template-delete": "campaigns.delete_messagetemplate",
    "campaigns:template-use": ADD_CAMPAIGN,
    # --- contacts ------------------------------------------------------------------------------
    "contacts:contact-index": "contacts.view_contact",
    "contacts:contact-new": "contacts.add_contact",
    "contacts:contact-export": EXPORT_CONTACTS,
    "contacts:contact-edit": "contacts.change_contact",
    "contacts:contact-delete": "contacts.delete_contact",
    "contacts:list-index": "contacts.view_contactlist",
    "contacts:list-new": "contacts.add_contactlist",
    "contacts:list-detail": "contacts.view_contactlist",
    "contacts:list-edit": "contacts.change_contactlist",
    "contacts:list-archive": "contacts.change_contactlist",
    "contacts:list-delete": "contacts.delete_contactlist",
    "contacts:list-export": EXPORT_CONTACTS,
    "contacts:list-link": "contacts.change_contactlist",
    "contacts:list-unlink": "contacts.change_contactlist",
    "contacts:list-push": "contacts.change_contactlist",
    "contacts:list-push-status": "contacts.view_contactlist",
    "contacts:field-index": "contacts.view_contactfield",
    "contacts:field-new": "contacts.add_contactfield",
    "contacts:field-new-in-bsg": "contacts.add_contactfield",
    "contacts:field-edit": "contacts.change_contactfield",
    "contacts:field-delete": "contacts.delete_contactfield",
    "contacts:dnc-index": {
        "GET": "contacts.view_donotcontact",
        "POST": "contacts.add_donotcontact",
    },
    "contacts:dnc-export": EXPORT_CONTACTS,
    "contacts:dnc-remove": "contacts.delete_donotcontact",
    "contacts:import-index": "contacts.view_contactimport",
    "contacts:import-upload": "contacts.add_contactimport",
    "contacts:import-detail": "contacts.view_contactimport",
    "contacts:import-status": "contacts.view_contactimport",
    "contacts:import-mapping": "contacts.change_contactimport",
    "contacts:import-reread": "contacts.change_contactimport",
    "contacts:import-start": "contacts.change_contactimport",
    "contacts:import-cancel": "contacts.change_contactimport",
    # The rejected rows are phone numbers and names from the file: an export like any other.
    "contacts:import-rejected": EXPORT_CONTACTS,
}

# Views Django guards itself (django.contrib.auth.urls under /accounts/, and admin), two open
# to anyone: the language switcher (a person's own choice, also on the log-in page) and the
# JavaScript catalogue of the interface's words; "Your settings", which every signed-in person
# may use (LoginRequiredMiddleware keeps others out): it changes only their own account; the
# "signed in as" page, which shows each person only their own name; and the callback BSG pushes
# delivery statuses to, guarded by the secret in its path.
UNGUARDED_NAMESPACES = frozenset({"admin"})
UNGUARDED_NAMES = frozenset(
    {
        "accounts:language",
        # BSG's delivery statuses: no person, the secret in the path decides (its view).
        "campaigns:bsg-status-callback",
        "accounts:settings",
        "accounts:signed-in",
        "javascript-catalog",
        "login",
        "logout",
        "password_change",
        "password_change_done",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
    }
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """Not in the table, or the method has no row: nobody may use it until someone decides."""


def is_unguarded(view_name: str) -> bool:
    namespace = view_name.rpartition(":")[0]
    return view_name in UNGUARDED_NAMES or namespace.split(":")[0] in UNGUARDED_NAMESPACES


def required_permission(view_name: str, method: str) -> str:
    """The permission `method` on the URL named `view_name` needs; Refused if it has none."""
    rule = ACCESS.get(view_name)
    if rule is None:
        raise Refused(f"{view_name} is not in config.access.ACCESS")
    if isinstance(rule, str):
        return rule
    key = "GET" if method.upper() in READ_METHODS else "POST"
    if key not in rule:
        raise Refused(f"{view_name} has no {key} row in config.access.ACCESS")
    return rule[key]


def user_may(user: Any, view_name: str, method: str = "POST") -> bool:
    """Whether user may use that URL with that method (the middleware's rule, for templates)."""
    if not getattr(user, "is_authenticated", False):
        return False
    try:
        permission = required_permission(view_name, method)
    except Refused:
        return False
    return user.has_perm(permission)


# Django names the four permissions of every model "Can <action> <verbose name>" and stores that
# in English; these say the same in the reader's language, with the model's own verbose name.
_DEFAULT_PERMISSION_LABELS = {
    "add": gettext_lazy("Can add %(model)s"),
    "change": gettext_lazy("Can change %(model)s"),
    "delete": gettext_lazy("Can delete %(model)s"),
    "view": gettext_lazy("Can view %(model)s"),
}


def _permission_label(permission: str) -> str:
    """The permission's name as the 403 page says it, in the reader's language."""
    app_label, _dot, codename = permission.partition(".")
    found = (
        Permission.objects.select_related("content_type")
        .filter(content_type__app_label=app_label, codename=codename)
        .first()
    )
    if found is None:
        return permission
    action = codename.partition("_")[0]
    model = found.content_type.model_class()
    label = _DEFAULT_PERMISSION_LABELS.get(action)
    if (
        label is not None
        and model is not None
        and found.name == f"Can {action} {model._meta.verbose_name_raw}"
    ):
        return label % {"model": model._meta.verbose_name}
    # A model's own permissions (Meta.permissions) mark their names for translation.
    return gettext(found.name)


def forbidden(request: HttpRequest, permission: str | None) -> HttpResponse:
    """The 403 page, or its fragment for htmx, which swaps it in place of the missing panel."""
    context = {"permission": _permission_label(permission) if permission else None}
    htmx = request.headers.get("HX-Request") == "true"
    template = "403.html#denied" if htmx else "403.html"
    return render(request, template, context, status=403)


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, but someone whose session ended while a page was open
    is sent to the log-in page as a whole page when htmx asks (a live panel's poll, a preview's
    button): htmx would follow the 302 itself and swap the log-in page into the panel. HX-Redirect
    tells it to load the page instead, with `next` the page they were on, not the fragment's
    URL (after logging in they would land on a bare panel)."""

    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponse:
        # HtmxMiddleware (request.htmx) runs later in settings.MIDDLEWARE.
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        login = resolve_url(self.get_login_url(view_func))
        page = request.headers.get("HX-Current-URL", "")
        if not url_has_allowed_host_and_scheme(
            page, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseClientRedirect(login)
        parts = urlsplit(page)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
        field = self.get_redirect_field_name(view_func)
        return HttpResponseClientRedirect(redirect_to_login(back, login, field)["Location"])


class AccessMiddleware:
    """Checks ACCESS on every request that reaches a view; after authentication and login.

    Anonymous requests pass through untouched: LoginRequiredMiddleware (before this one) sends
    them to the login page, except for views marked login_not_required, which are public.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        user = getattr(request, "user", None) or AnonymousUser()
        if not user.is_authenticated:
            return None
        if match is None or is_unguarded(match.view_name):
            return None
        try:
            permission = required_permission(match.view_name, request.method or "GET")
        except Refused:
            return forbidden(request, None)
        if not user.has_perm(permission):
            return forbidden(request, permission)
        return None


class Can:
    """`can.campaigns_stop` in a template: may this user use that URL (its POST row if it has
    one, else its only row)? ':' and '-' in URL names read as '_'. Unknown names are False."""

    _names = {name.replace(":", "_").replace("-", "_"): name for name in ACCESS}

    def __init__(self, user: Any) -> None:
        self._user = user
        self._cache: dict[str, bool] = {}

    def __getitem__(self, key: str) -> bool:
        if key not in self._names:
            raise KeyError(key)
        if key not in self._cache:
            rule = ACCESS[self._names[key]]
            method = "POST" if isinstance(rule, str) or "POST" in rule else "GET"
            self._cache[key] = user_may(self._user, self._names[key], method)
        return self._cache[key]

    def __contains__(self, key: str) -> bool:
        return key in self._names


def can(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `can` (above), and whether four-eyes approval is on."""
    from django.conf import settings

    return {
        "can": Can(getattr(request, "user", None) or AnonymousUser()),
        "four_eyes": settings.CAMPAIGNS_FOUR_EYES,
    }


# --- every request's permission check, from the cache ----------------------------------------

# Long enough that a busy person's requests share one lookup, short enough that a change made
# where no signal below fires (a raw SQL edit, another deployment's process) holds at most a
# minute.
PERMISSIONS_CACHE_SECONDS = 60


def _permissions_key(user_id: int, joined: Any) -> str:
    # The join time tells apart two users that got the same id (a test database made again,
    # a restored backup), so one never inherits the other's cached set.
    return f"access:permissions:{user_id}:{joined.timestamp() if joined else ''}"


class CachedPermissionBackend(ModelBackend):
    """Django's ModelBackend, with each user's permission set kept in the cache (Redis).

    Every guarded request asks has_perm, which costs ModelBackend two queries (the user's own
    permissions and their groups') per request: ~1 ms of the web process's CPU out of the ~5 ms
    a request may cost (BENCHMARKS.md "Web under load"). The set is dropped when the user's
    groups or permissions, or a group's permissions, change (the receivers below), and expires
    after PERMISSIONS_CACHE_SECONDS anyway. Superusers and inactive users never reach it:
    User.has_perm and ModelBackend answer them from the user row.
    """

    def get_user(self, user_id: Any) -> Any:
        # ModelBackend's, with the person's settings (language and time zone, which
        # accounts.middleware reads on every request) joined into the same query, not one more.
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("account_settings").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            key = _permissions_key(user_obj.pk, user_obj.date_joined)
            found = cache.get(key)
            if found is None:
                found = super().get_all_permissions(user_obj)
                cache.set(key, found, PERMISSIONS_CACHE_SECONDS)
            user_obj._perm_cache = set(found)
        return user_obj._perm_cache


def permissions_fingerprint(user: Any) -> str:
    """A short name for what this user may do: two users with the same one see the same
    buttons (templates read permissions only through `can`), so may share a rendered panel."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return "none"
    if user.is_superuser:
        return "superuser"
    permissions = "\n".join(sorted(user.get_all_permissions()))
    return hashlib.sha256(permissions.encode()).hexdigest()[:32]


def permissions_forget(*, user_ids: Any) -> None:
    """Drop these users' cached permission sets: their next request reads them again."""
    users = get_user_model().objects.filter(pk__in=list(user_ids))
    cache.delete_many(
        [_permissions_key(pk, joined) for pk, joined in users.values_list("pk", "date_joined")]
    )


def _users_of_groups(group_ids: Any) -> list[int]:
    return list(
        get_user_model().objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True)
    )


def _changed_users(sender: Any, instance: Any, reverse: bool, pk_set: Any) -> list[int]:
    """Whose permissions an m2m change on these tables touches. `pk_set` is None on a clear,
    which is why clears are handled before they happen (pre_clear), while the rows exist."""
    user_model = get_user_model()
    if sender is user_model.groups.through or sender is user_model.user_permissions.through:
        if not reverse:  # user.groups.add(...) / user.user_permissions.add(...)
            return [instance.pk]
        if pk_set is not None:  # group.user_set.add(...) / permission.user_set.add(...)
            return list(pk_set)
        return list(instance.user_set.values_list("pk", flat=True))
    if sender is Group.permissions.through:
        if not reverse:  # group.permissions.add(...)
            return _users_of_groups([instance.pk])
        groups = pk_set if pk_set is not None else instance.group_set.values_list("pk", flat=True)
        return _users_of_groups(groups)  # permission.group_set.add(...)
    return []


@receiver(m2m_changed, dispatch_uid="access-permissions-m2m")
def _forget_changed_permissions(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    user_ids = _changed_users(sender, instance, reverse, pk_set)
    if user_ids:
        permissions_forget(user_ids=user_ids)


@receiver(pre_delete, sender=Group, dispatch_uid="access-permissions-group-delete")
def _forget_deleted_group(sender, instance: Group, **kwargs) -> None:
    # Deleting a group removes its memberships without an m2m_changed signal.
    permissions_forget(user_ids=_users_of_groups([instance.pk]))
