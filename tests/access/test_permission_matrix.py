"""Every URL by anonymous / viewer / author / approver / superuser, for GET and POST, with and
without htmx: the access table (config/access.py) is complete and the middleware enforces it.

The URLs come from the resolver, so a view added later is in the matrix at once, and refused
until someone gives it a row in the table.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from campaigns.models import Campaign
from config.access import ACCESS, Refused, is_unguarded, required_permission

from .conftest import ROLES

pytestmark = pytest.mark.django_db

# Status codes a permitted request may get: the page, a redirect after a POST, a form's errors
# (400/422), a missing file (404), or a method the view does not take (405). Never 403 or 5xx.
PERMITTED = {200, 302, 400, 404, 405, 422}


def resolver_urls() -> dict[str, list[str]]:
    """{view name as request.resolver_match names it: its URL keyword arguments}."""
    found: dict[str, list[str]] = {}

    def walk(patterns, namespaces: tuple[str, ...]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespaces + ((pattern.namespace,) if pattern.namespace else ())
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                name = pattern.name or f"<unnamed {pattern.lookup_str}>"
                found[":".join((*namespaces, name))] = list(pattern.pattern.converters)

    walk(get_resolver().url_patterns, ())
    return found


GUARDED = sorted(name for name in resolver_urls() if not is_unguarded(name))


def test_every_url_the_project_serves_has_a_row_in_the_access_table():
    missing = [name for name in GUARDED if name not in ACCESS]
    assert missing == [], f"Give these URLs a row in config/access.py ACCESS: {missing}"


def test_the_access_table_names_only_urls_that_exist():
    assert sorted(set(ACCESS) - set(GUARDED)) == []


def test_every_permission_in_the_table_exists(groups):
    for name, rule in ACCESS.items():
        for permission in [rule] if isinstance(rule, str) else rule.values():
            app_label, codename = permission.split(".")
            assert Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).exists(), f"{name} needs {permission}, which does not exist"


def test_a_url_without_a_row_is_refused_even_to_a_superuser(client, people, monkeypatch):
    monkeypatch.delitem(ACCESS, "campaigns:list")
    client.force_login(people["superuser"])
    assert client.get(reverse("campaigns:list")).status_code == 403
    with pytest.raises(Refused):
        required_permission("campaigns:list", "GET")


def test_the_groups_hold_what_their_names_say(groups):
    def codenames(name):
        return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))

    viewers, authors, approvers = (
        codenames("Viewers"),
        codenames("Campaign authors"),
        codenames("Campaign approvers"),
    )
    assert viewers and all(c.startswith("view_") for c in viewers)
    assert {"view_campaign", "view_contact", "view_contactlist"} <= viewers
    assert {"add_campaign", "change_campaign", "export_contact", "add_contactimport"} <= authors
    assert not {"approve_campaign", "stop_campaign", "delete_donotcontact"} & authors
    assert {"approve_campaign", "stop_campaign", "change_campaignpart"} <= approvers
    assert not {"add_campaign", "change_campaign", "export_contact"} & approvers


def _url(name: str, kwargs: list[str], objects: dict) -> str:
    missing = [k for k in kwargs if k not in objects]
    assert not missing, f"tests/access/conftest.py `objects` needs a value for {missing} ({name})"
    return reverse(name, kwargs={k: objects[k] for k in kwargs})


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, people, objects, bsg_settings, role, method):
    """One row per URL: what this role gets, checked against what the table lets it do."""
    user = people[role]
    if user is not None:
        client.force_login(user)
    urls = resolver_urls()
    wrong = []
    for name in GUARDED:
        url = _url(name, urls[name], objects)
        try:
            permission = required_permission(name, method)
        except Refused:
            permission = None
        allowed = user is not None and permission is not None and user.has_perm(permission)
        for htmx in (False, True):
            headers = {"HX-Request": "true"} if htmx else {}
            send = client.get if method == "GET" else client.post
            response = send(url, headers=headers)
            status = response.status_code
            location = response.get("Location", "")
            if user is None and htmx:
                # Loaded as a page, not swapped into the panel (config.access).
                ok = status == 200 and response.get("HX-Redirect") == "/accounts/login/"
            elif user is None:
                ok = status == 302 and location.startswith("/accounts/login/")
            elif allowed:
                ok = status in PERMITTED and not location.startswith("/accounts/login/")
            else:
                body = response.content.decode()
                ok = status == 403 and 'id="access-denied"' in body
                # htmx gets the fragment alone, to swap in place of the panel it asked for.
                ok = ok and (("<html" not in body) if htmx else ("<html" in body))
            if not ok:
                wrong.append(f"{method} {name} htmx={htmx}: {status} {location}")
    assert wrong == [], "\n".join(wrong)


# What the issue says each group may do, written out by hand rather than read from the table.
SPOT_CHECKS = [
    ("GET", "campaigns:detail", {"viewer", "author", "approver", "superuser"}),
    ("GET", "campaigns:list", {"viewer", "author", "approver", "superuser"}),
    ("GET", "contacts:contact-index", {"viewer", "author", "approver", "superuser"}),
    ("GET", "campaigns:new", {"author", "superuser"}),
    ("POST", "campaigns:edit", {"author", "superuser"}),
    ("POST", "campaigns:approval-request", {"author", "superuser"}),
    ("POST", "contacts:import-upload", {"author", "superuser"}),
    ("GET", "contacts:contact-export", {"author", "superuser"}),
    ("GET", "contacts:list-export", {"author", "superuser"}),
    ("POST", "campaigns:approve", {"approver", "superuser"}),
    ("POST", "campaigns:reject", {"approver", "superuser"}),
    ("POST", "campaigns:stop", {"approver", "superuser"}),
    # An author may set up a recurring campaign: it waits for an approver.
    ("POST", "campaigns:schedules", {"author", "approver", "superuser"}),
    ("POST", "campaigns:schedule-approve", {"approver", "superuser"}),
    ("POST", "contacts:dnc-remove", {"approver", "superuser"}),
]


@pytest.mark.parametrize(("method", "name", "may"), SPOT_CHECKS)
def test_what_each_group_may_do(client, people, objects, bsg_settings, method, name, may):
    url = _url(name, resolver_urls()[name], objects)
    for role in ROLES[1:]:
        client.force_login(people[role])
        response = client.get(url) if method == "GET" else client.post(url)
        assert (response.status_code != 403) == (role in may), (role, response.status_code)


def test_a_viewer_posting_stop_directly_is_refused_and_nothing_stops(client, people, objects):
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=objects["campaign_id"]).update(status=Campaign.Status.READY)
    client.force_login(people["viewer"])
    response = client.post(reverse("campaigns:stop", args=[objects["campaign_id"]]))
    assert response.status_code == 403
    assert "Can stop campaigns" in response.content.decode()
    assert Campaign.objects.get(pk=objects["campaign_id"]).status == Campaign.Status.READY


def _main_menu(client) -> str:
    body = client.get(reverse("campaigns:home")).content.decode()
    return body.split('<nav aria-label="Main">')[1].split("</nav>")[0]


def test_the_menu_offers_composing_and_importing_only_to_those_who_may(client, people, objects):
    client.force_login(people["viewer"])
    menu = _main_menu(client)
    assert reverse("campaigns:new", args=["sms"]) not in menu
    assert reverse("contacts:import-index") not in menu
    assert reverse("campaigns:list") in menu
    client.force_login(people["author"])
    menu = _main_menu(client)
    assert reverse("campaigns:new", args=["sms"]) in menu
    assert reverse("contacts:import-index") in menu


def test_the_password_change_page_is_open_to_every_signed_in_user(client, people):
    client.force_login(people["viewer"])
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert reverse("password_change") in client.get(reverse("campaigns:home")).content.decode()
    done = client.post(
        reverse("password_change"),
        {
            "old_password": "a-long-test-password",
            "new_password1": "another-long-passphrase-9",
            "new_password2": "another-long-passphrase-9",
        },
    )
    assert done.status_code == 302
    assert client.get(done["Location"]).status_code == 200
    people["viewer"].refresh_from_db()
    assert people["viewer"].check_password("another-long-passphrase-9")


def test_a_user_in_no_group_is_told_why_after_logging_in(client, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="a-long-test-password")
    client.force_login(nobody)
    response = client.get(reverse("campaigns:home"))
    assert response.status_code == 403
    assert "Can view campaign" in response.content.decode()


def test_contact_pages_hide_what_a_viewer_may_not_do(client, people, objects):
    list_page = reverse("contacts:list-detail", args=[objects["list_id"]])
    hidden = [
        reverse("contacts:list-export", args=[objects["list_id"]]),
        reverse("contacts:list-delete", args=[objects["list_id"]]),
        reverse("contacts:list-push", args=[objects["list_id"]]),
        reverse("contacts:contact-edit", args=[objects["contact_id"]]),
    ]
    client.force_login(people["viewer"])
    body = client.get(list_page).content.decode()
    assert [url for url in hidden if url in body] == []
    dnc = client.get(reverse("contacts:dnc-index")).content.decode()
    assert reverse("contacts:dnc-remove", args=[objects["entry_id"]]) not in dnc
    assert "Add a number" not in dnc

    client.force_login(people["author"])
    body = client.get(list_page).content.decode()
    assert [url for url in hidden if url not in body] == []
    dnc = client.get(reverse("contacts:dnc-index")).content.decode()
    assert "Add a number" in dnc
    # Taking a number off do-not-contact is an approver's second look.
    assert reverse("contacts:dnc-remove", args=[objects["entry_id"]]) not in dnc


def test_campaign_pages_hide_what_a_viewer_may_not_do(client, people, objects):
    campaign = Campaign.objects.get(pk=objects["campaign_id"])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.FINISHED)
    detail = reverse("campaigns:detail", args=[campaign.pk])
    recipients = reverse("campaigns:recipients", args=[campaign.pk])
    actions = [
        reverse("campaigns:duplicate", args=[campaign.pk]),
        reverse("campaigns:ledger-csv", args=[campaign.pk]),
        reverse("campaigns:retry-failed", args=[campaign.pk]),
    ]
    client.force_login(people["viewer"])
    body = client.get(detail).content.decode() + client.get(recipients).content.decode()
    assert [url for url in actions if url in body] == []
    assert "New SMS campaign" not in client.get(reverse("campaigns:list")).content.decode()

    client.force_login(people["approver"])
    body = client.get(detail).content.decode() + client.get(recipients).content.decode()
    assert reverse("campaigns:retry-failed", args=[campaign.pk]) in body


def test_only_approvers_see_stop_on_a_sending_campaign(client, people, objects):
    Campaign.objects.filter(pk=objects["campaign_id"]).update(status=Campaign.Status.SENDING)
    detail = reverse("campaigns:detail", args=[objects["campaign_id"]])
    for role, sees_stop in (("viewer", False), ("author", False), ("approver", True)):
        client.force_login(people[role])
        assert ('id="stop-campaign"' in client.get(detail).content.decode()) is sees_stop, role
