"""Hostile input to every view the project serves: nothing a user can type answers with a 500.

The URLs come from the resolver (admin, login and password pages included), so a view added
later is fuzzed at once. For each, as a superuser and as a campaign author:

- the parameters a view reads are found, not listed by hand: one request with no parameters
  records every key the view asks request.GET / request.POST for (a form reads each of its
  fields), and every page is crawled once for the forms, buttons and links that point at it
  (admin's filters are links);
- every one of those parameters, alone and all at once, gets each hostile value: the others keep
  the values the page's own form would send, so a value that passes its field reaches the
  service and the database behind it;
- path arguments get real ids, and absurd ones (0, 25 digits, a NUL).

One database for the module: the objects are made once, inside a transaction rolled back at
the end, and each test's own writes are rolled back after it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import QueryDict
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.datastructures import MultiValueDict

from audit.services import audit_record
from campaigns import approval, services
from campaigns.models import Campaign, CampaignEvent, CampaignPart, Recipient, SavedSender, SendPlan
from tests.access.conftest import make_groups, make_objects, make_person
from tests.conftest import SANDBOX_API_KEY

pytestmark = pytest.mark.django_db

# Each value alone in each parameter: what gets past a form field and reaches the database.
HOSTILE = ["a\x00b", "x" * 100_000, str(10**25), "-1", "9999-12-31", "0001-01-01"]
# One POST field at a time (each is a whole form submitted, the slow part of the fuzz): the
# values that pass a text or number field and break what is behind it.
HOSTILE_POSTED = ["a\x00b", "x" * 100_000, str(10**25), "9999-12-31"]
# All parameters at once, with these too: what a field's own parsing must survive.
HOSTILE_ALL_AT_ONCE = [
    *HOSTILE,
    str(-(10**25)),
    "[]",
    "NaN",
    "99999-01-01",
    "9999-12-31T23:59:59",
    "2026-13-45",
    "inf",
    "%00",
]
LATER_FORMSET_FORM = re.compile(r"-[1-9][0-9]*-")
# Path arguments that name nothing (or nothing sensible).
ABSURD_IDS = ["0", str(10**25), "a\x00b"]
# Read by many pages: a pager, a search, a filter, admin's error flag.
COMMON_GET = ["page", "q", "status", "created_from", "created_to", "sort", "cursor", "e", "o", "p"]

ROLES = ("superuser", "author")
# Other apps' admin pages get every value in every field at once, not one field at a time: the
# site-wide guards (config/admin_site.py) are the same code as on our own models' pages.
OTHER_APPS_ADMIN = ("admin/auth/", "admin/axes/", "admin/django_celery_beat/")
# A POST here ends the session: sign in again before each request.
SIGNS_OUT = {"logout", "admin:logout"}


# --- the URLs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name (or its route, if unnamed) and its path with {kwarg} holes."""

    name: str
    template: str
    kwargs: tuple[str, ...]

    def path(self, values: dict[str, str]) -> str:
        return "/" + self.template.format(**values)


def _template(pattern) -> tuple[str, tuple[str, ...]]:
    text = str(pattern)
    if hasattr(pattern, "converters") and not text.startswith("^"):
        names = tuple(re.findall(r"<(?:\w+:)?(\w+)>", text))
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text), names
    names = tuple(pattern.regex.groupindex)
    # Admin's app index and catch-all: (?P<name>...) groups between ^ and $.
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text.lstrip("^").rstrip("$")), names


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns, prefix: str, namespaces: tuple[str, ...]) -> None:
        for pattern in patterns:
            template, _names = _template(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = namespaces + ((pattern.namespace,) if pattern.namespace else ())
                walk(pattern.url_patterns, prefix + template, inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + template
                name = ":".join((*namespaces, pattern.name)) if pattern.name else route
                found.append(Route(name, route, tuple(re.findall(r"{(\w+)}", route))))

    walk(get_resolver().url_patterns, "", ())
    return found


ROUTES = {route.name: route for route in routes()}


# --- finding what a view reads ---------------------------------------------------------------


@dataclass
class FormSeen:
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    # Fields the browser can only send one of the page's own values in (select, checkbox,
    # radio): any other value fails the field itself, which the all-at-once requests show.
    choices: set[str] = field(default_factory=set)


class PageParser(HTMLParser):
    """The forms on a page (method, action, each field's value as the browser would send it),
    htmx buttons (hx-post/hx-get with hx-vals), and links."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[tuple[str, FormSeen]] = []
        self.links: list[str] = []
        self._form: FormSeen | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def _target(self, action: str | None) -> str:
        return urlsplit(urljoin(self.page_path, action or self.page_path)).path

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        for attribute in ("href", "hx-get"):
            if a.get(attribute):
                self.links.append(urljoin(self.page_path, a[attribute]))
        if a.get("hx-post") and tag != "form":
            seen = FormSeen("post")
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                values = json.loads(a.get("hx-vals") or "{}")
                seen.fields.update({k: str(v) for k, v in values.items()})
            self.forms.append((self._target(a["hx-post"]), seen))
        if tag == "form":
            method = (a.get("method") or "get").lower()
            action = a.get("action") or a.get("hx-post") or a.get("hx-get")
            self._form = FormSeen(method)
            self.forms.append((self._target(action), self._form))
            return
        form, name = self._form, a.get("name")
        if form is None or not name:
            return
        kind = a.get("type", "text").lower()
        if tag == "input":
            if kind in ("checkbox", "radio"):
                form.choices.add(name)
                if "checked" in a:
                    form.fields.setdefault(name, a.get("value", "on"))
            elif kind in ("submit", "image", "button", "file", "reset"):
                if kind == "submit":
                    form.fields.setdefault(name, a.get("value", ""))
            else:
                form.fields.setdefault(name, a.get("value", ""))
        elif tag == "button" and kind == "submit":
            form.fields.setdefault(name, a.get("value", ""))
        elif tag == "select":
            form.choices.add(name)
            self._select, self._select_first = name, None
            form.fields.setdefault(name, "")
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
                form.fields[self._select] = form.fields[self._select] or value
            if "selected" in a:
                form.fields[self._select] = value
        elif tag == "textarea":
            self._textarea = name
            form.fields.setdefault(name, "")

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Inputs:
    """What a path is sent: GET parameter names, and the POST fields with their defaults."""

    get: set[str] = field(default_factory=set)
    post: dict[str, str] = field(default_factory=dict)
    post_fields: set[str] = field(default_factory=set)
    post_choices: set[str] = field(default_factory=set)


def crawl(client: Client, paths: list[str]) -> dict[str, Inputs]:
    found: dict[str, Inputs] = {}
    for path in paths:
        response = client.get(path)
        if "html" not in response.get("Content-Type", ""):
            continue
        parser = PageParser(path)
        parser.feed(response.content.decode(errors="replace"))
        for target, form in parser.forms:
            inputs = found.setdefault(target, Inputs())
            if form.method == "get":
                inputs.get |= set(form.fields)
            else:
                for name, value in form.fields.items():
                    inputs.post.setdefault(name, value)
                inputs.post_fields |= set(form.fields)
                inputs.post_choices |= form.choices
        for link in parser.links:
            parts = urlsplit(link)
            if parts.query and not parts.netloc:
                found.setdefault(parts.path, Inputs()).get |= {
                    key for key, _ in parse_qsl(parts.query, keep_blank_values=True)
                }
    return found


class KeysRead:
    """Every key asked of a QueryDict while in effect: the parameters a view reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: set[str] = set()
        self._monkeypatch = monkeypatch

    def __enter__(self) -> KeysRead:
        keys = self.keys

        def recording(original):
            def method(self, key, *args, **kwargs):
                if isinstance(self, QueryDict) and isinstance(key, str):
                    keys.add(key)
                return original(self, key, *args, **kwargs)

            return method

        for name in ("__getitem__", "get", "getlist", "__contains__"):
            original = getattr(MultiValueDict, name, None) or getattr(dict, name)
            self._monkeypatch.setattr(QueryDict, name, recording(original))
        return self

    def __exit__(self, *exc) -> None:
        self._monkeypatch.undo()


# --- the world the module fuzzes -------------------------------------------------------------


# The approval buttons act on a campaign that waits for approval (the others' drafts).
AWAITING = {"campaigns:approve", "campaigns:reject"}


@dataclass
class World:
    people: dict
    ids: dict[str, str]
    awaiting_id: str
    # Admin: "app_label/model_name" → the id of one object of that model.
    admin_ids: dict[str, str]
    inputs: dict[str, Inputs]


def _admin_objects(objects: dict, people: dict) -> dict[str, str]:
    campaign = Campaign.objects.get(pk=objects["campaign_id"])
    SavedSender.objects.create(name="Shop", sender="Shop")
    SendPlan.objects.create(campaign=campaign, fingerprint="x", result={})
    part = CampaignPart.objects.get(pk=objects["part_id"])
    Recipient.objects.create(
        campaign=campaign, part=part, seq=1, phone="380501111111", reference_id="r1"
    )
    CampaignEvent.objects.create(campaign=campaign, kind="created", message="made by the fuzz")
    audit_record(action="fuzz", target=campaign, message="made by the fuzz")
    # A user to edit and delete that is not the one signed in.
    victim = get_user_model().objects.create_user("victim")
    ids = {}
    for model in admin.site._registry:
        key = f"{model._meta.app_label}/{model._meta.model_name}"
        first = model._default_manager.order_by("pk").first()
        ids[key] = str(first.pk) if first else "1"
    ids["auth/user"] = str(victim.pk)
    return ids


def _awaiting_approval(objects: dict, people: dict) -> Campaign:
    campaign = services.campaign_save(
        campaign=Campaign(
            name="Waiting for a second pair of eyes",
            channel=Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text="Hi {first_name}",
            sender="Shop",
        ),
        list_ids=[objects["list_id"]],
        user=people["author"],
    )
    services.send_plan_request(campaign_id=campaign.pk, user=people["author"])
    approval.campaign_approval_request(campaign_id=campaign.pk, user=people["author"], when=None)
    return campaign


def _values(route: Route, world: World, absurd: str | None = None) -> dict[str, str]:
    values = {}
    for name in route.kwargs:
        if absurd is not None and name != "app_label":
            values[name] = absurd.replace("\x00", "%00")
        elif name == "campaign_id" and route.name in AWAITING:
            values[name] = world.awaiting_id
        elif name in world.ids:
            values[name] = world.ids[name]
        elif name in ("object_id", "id"):
            model = re.match(r"admin/(\w+)/(\w+)/", route.template)
            values[name] = world.admin_ids.get(f"{model[1]}/{model[2]}", "1") if model else "1"
        else:
            values[name] = {
                "app_label": "campaigns",
                "content_type_id": str(ContentType.objects.get_for_model(Campaign).pk),
                "url": "nowhere/",
                "uidb64": "MQ",
                "token": "set-password",
            }[name]
    return values


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, sandbox_server, tmp_path_factory) -> Iterator:
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        BSG_API_URL=sandbox_server.url,
        BSG_API_KEY=SANDBOX_API_KEY,
    )
    with django_db_blocker.unblock(), fast, transaction.atomic():
        groups = make_groups()
        people = {role: make_person(role, groups) for role in ("superuser", "author", "viewer")}
        objects = make_objects(people)
        ids = {key: str(value) for key, value in objects.items()}
        awaiting = _awaiting_approval(objects, people)
        world = World(people, ids, str(awaiting.pk), _admin_objects(objects, people), {})
        client = Client()
        client.force_login(people["superuser"])
        paths = [
            ROUTES[name].path(_values(ROUTES[name], world))
            for name in ROUTES
            if name not in SIGNS_OUT
        ]
        paths.append(ROUTES["campaigns:detail"].path({"campaign_id": world.awaiting_id}))
        world.inputs = crawl(client, paths)
        yield world
        transaction.set_rollback(True)
    # Content types made inside that rolled-back transaction (a flush before this module removes
    # them) must not stay in the process's cache for the tests after it.
    ContentType.objects.clear_cache()


# --- the fuzz --------------------------------------------------------------------------------


def _refused(response) -> bool:
    """The access guard or admin's login turned the role away before the view read anything."""
    location = response.get("Location", "")
    return response.status_code == 403 or (
        response.status_code == 302 and location.startswith(("/accounts/login/", "/admin/login/"))
    )


@dataclass
class Fuzz:
    client: Client
    user: object
    relogin: bool
    failures: list[str] = field(default_factory=list)
    sent: int = 0

    def send(self, method: str, path: str, data: dict, note: str):
        if self.relogin:
            self.client.force_login(self.user)
        send = self.client.get if method == "GET" else self.client.post
        response = send(path, data)
        self.sent += 1
        if response.status_code >= 500:
            self.failures.append(f"{method} {path} {note}: {response.status_code}")
        return response


def _shown(value: str) -> str:
    return repr(value if len(value) < 30 else value[:10] + f"…({len(value)} characters)")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_no_input_answers_with_a_server_error(
    world, db, client, bsg_settings, monkeypatch, role, name
):
    route = ROUTES[name]
    client.raise_request_exception = False
    user = world.people[role]
    client.force_login(user)
    fuzz = Fuzz(client, user, relogin=name in SIGNS_OUT)
    path = route.path(_values(route, world))
    seen = world.inputs.get(path, Inputs())

    with KeysRead(monkeypatch) as read_by_get:
        got = fuzz.send("GET", path, {}, "as is")
    with KeysRead(monkeypatch) as read_by_post:
        posted = fuzz.send("POST", path, dict(seen.post), "as the page sends it")
    # Turned away before the view: the view reads nothing, so one request a value will do.
    refused = _refused(got) and _refused(posted)
    # Admin's add and change forms are Django's (with the site-wide guards of
    # config/admin_site.py): every field at once covers them; their GET filters, where the
    # lookups reach the database, and every one of our own pages get one field at a time.
    admin_page = route.template.startswith("admin/")
    # One field at a time is the slow part (a whole form posted per value): done as the
    # superuser, who reaches every view's code; an author's requests go through the same views
    # after the access guard, which every value at once already crosses.
    one_at_a_time = (
        not refused and role == "superuser" and not route.template.startswith(OTHER_APPS_ADMIN)
    )

    get_keys = sorted(read_by_get.keys | seen.get)
    post_keys = sorted(read_by_post.keys | seen.post_fields)
    # Turned away at the door, one hostile value shows the door holds; every value otherwise.
    for value in HOSTILE[:1] if refused else HOSTILE_ALL_AT_ONCE:
        keys = [*get_keys, *COMMON_GET]
        fuzz.send("GET", path, dict.fromkeys(keys, value), f"every parameter {_shown(value)}")
        keys = post_keys or list(seen.post) or ["name"]
        fuzz.send("POST", path, dict.fromkeys(keys, value), f"every field {_shown(value)}")
    if one_at_a_time:
        # One parameter at a time, so that a value its own field accepts reaches what is
        # behind the form (a query, a service, the database).
        for key in get_keys:
            for value in HOSTILE:
                fuzz.send("GET", path, {key: value}, f"{key}={_shown(value)}")
        for key in [] if admin_page else post_keys:
            # A formset's second and later forms are the first one's fields again.
            if key in seen.post_choices or LATER_FORMSET_FORM.search(key):
                continue
            for value in HOSTILE_POSTED:
                fuzz.send("POST", path, {**seen.post, key: value}, f"{key}={_shown(value)}")

    for absurd in ABSURD_IDS if route.kwargs else []:
        absurd_path = route.path(_values(route, world, absurd))
        fuzz.send("GET", absurd_path, {}, "absurd id")
        fuzz.send("POST", absurd_path, dict(seen.post), "absurd id")

    assert fuzz.failures == [], f"{len(fuzz.failures)} of {fuzz.sent}:\n" + "\n".join(
        fuzz.failures[:40]
    )


def test_the_fuzz_reaches_the_forms_it_should(world):
    """The crawl found the fields of forms that sit on other pages (reject's reason is on the
    detail page) and the admin's filter links; without them the fuzz would test little."""
    reject = ROUTES["campaigns:reject"].path(_values(ROUTES["campaigns:reject"], world))
    schedules = ROUTES["campaigns:schedules"].path({})
    changelist = ROUTES["admin:campaigns_campaign_changelist"].path({})
    assert "reason" in world.inputs[reject].post_fields
    assert {"name", "frequency_cap_days"} <= world.inputs[schedules].post_fields
    assert "status__exact" in world.inputs[changelist].get
