"""The web app under load: gunicorn (2 workers) with 100,000 campaigns and 1,000,000 contacts.

    .venv/bin/python bench/web_load.py          # full size: the floor page as fast as 50 users
                                                # can for 15 s, 60 % of that rate from 50 users
                                                # for 60 s, then 50 users with no pause for 20 s
    .venv/bin/python bench/web_load.py --campaigns 1000000 --contacts 10000000  # the big one
    .venv/bin/python bench/web_load.py --campaigns 2000 --contacts 20000 --seconds 10
    .venv/bin/python bench/web_load.py --fresh  # rebuild the data even if it is at size
    .venv/bin/python bench/web_load.py --drop   # and drop its database at the end
    .venv/bin/python bench/web_load.py --cpu-only  # only the in-process CPU of each kind
    .venv/bin/python bench/web_load.py --cpu-only --plans  # and each kind's queries uncached,
                                                # with the plans of those over --plan-over ms

Builds a PostgreSQL database beside DATABASE_URL's (`<name>_web_<campaigns>_<contacts>`) and
keeps it: a later run at the same sizes reuses it after `migrate` (so new indexes apply to the
old data). Campaigns get a realistic mix of statuses, channels, senders and dates (ids grow with
creation time, the newest ones are the live ones); sent campaigns have parts, events and, for
some, delivery snapshots; campaigns sending now have their recipient ledger. Everything is
made by PostgreSQL (INSERT … SELECT over generate_series), the indexes that back no constraint
built once after the rows are in (bench/_seed.py), then VACUUM ANALYZE, as a database that has
been running a while would be: 10,000,000 contacts and 1,000,000 campaigns in ~20 minutes on a
shared 2-CPU machine, once.

Then it starts gunicorn with 2 workers on loopback, with the production settings
(config.settings_production, DEBUG off, persistent database connections) and plain HTTP: the
load client sends `X-Forwarded-Proto: https` as the TLS proxy in front of it would. It logs in
through the real login form, and a second process (locust, FastHttpUser, headless) shares that
session among its simulated users and requests, at random: the campaigns list (first page,
filtered, searched, a later page) and the live parts panel (`campaigns:parts`, as htmx polls
it) of a campaign that is sending.

Every figure that depends on the machine is also given against a floor measured in the same
run: the smallest signed-in page (accounts:signed-in: the layout and one sentence, through the
same gunicorn, middleware, session and permission cache). Each kind's in-process CPU a request
is printed as a multiple of the floor's (`figure: <kind> CPU / floor = N x`; over
FLOOR_RATIO_TARGET is a miss), and the steady rate is FLOOR_LOAD_SHARE of the floor's own
saturation rate, measured first, unless --rate asks for a fixed one.

Phases: the floor page with no pause (--floor-seconds, after a warm-up); a warm-up (not
counted); the steady phase at that rate (or --rate) spread over
--users users for --seconds (`--arrivals`: `spread`, the default, starts each user at a random
moment within one period, then one request a period, start to start; `poisson` draws each gap
at random; `lockstep` starts them all in the same instant, a burst of --users requests
--rate/--users times a second: see `Pace`); then the saturation phase, the same users with no pause.
Exits 1 when a target is missed: p95 < 50 ms, p99 < 150 ms, no failed request and at least
95 % of the asked rate achieved in the steady phase, and every kind's CPU at most
FLOOR_RATIO_TARGET times the floor's.

Headline figures are printed as `figure: <label> = <value> <unit>` lines (bench/run.py reads
them for min/median/max over repeated runs).

Why this script is long: a benchmark is one file run as `python bench/web_load.py`, read top to
bottom as its phases (build the data, start the server, load it, report the figures); split,
the phases would be modules nothing else imports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

P95_TARGET_MS = 50.0
P99_TARGET_MS = 150.0
# Targets that hold on any machine: each page's CPU as a multiple of the floor's (the smallest
# signed-in page, accounts:signed-in, measured in the same run), and the steady load offered as a
# share of the floor's own saturation rate (BENCHMARKS.md "Web under load").
FLOOR_RATIO_TARGET = 3.0
FLOOR_LOAD_SHARE = 0.6
FLOOR = "floor (signed-in page)"
# --plans: a statement slower than this (PostgreSQL's execution time) has its plan printed.
PLAN_OVER_MS = 1.0
# The steady phase must actually have offered the load it claims to measure.
MIN_RATE_SHARE = 0.95
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bsg_campaigns"
BENCH_USER, BENCH_PASSWORD = "webload", "webload-" + "bench-password-1"
BENCH_GROUP = "Campaign authors"

SENDERS = [
    "BSG",
    "ShopUA",
    "Pharma24",
    "KyivTaxi",
    "Bank1",
    "Promo",
    "Delivery",
    "Clinic",
    "Cinema",
    "Fitness",
    "Auto",
    "Hotel",
    "380501112233",
    "447700900123",
    "Insure",
    "Books",
]
NAME_WORDS = [
    "Spring sale",
    "Black Friday",
    "Loyalty points",
    "Appointment reminder",
    "Order shipped",
    "Weekend offer",
    "New collection",
    "Payment due",
    "Welcome",
    "Survey",
    "Flash sale",
    "Birthday",
]
CITIES = ["Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro"]
SEARCH_WORD = "reminder"


# --- the database ------------------------------------------------------------------------------


def bench_database_url(base_url: str, campaigns: int, contacts: int) -> str:
    """A database beside `base_url`'s, named for its sizes so that a tiny test run never
    overwrites the full-size data."""
    parts = urlsplit(base_url)
    name = parts.path.lstrip("/") or "bsg_campaigns"
    return urlunsplit(parts._replace(path=f"/{name}_web_{campaigns}_{contacts}"))


def _ensure_database(url: str, *, fresh: bool, drop: bool = False) -> None:
    """Creates the bench database if missing (dropped first when `fresh`), or only drops it."""
    import environ
    import psycopg

    config = environ.Env.db_url_config(url)
    server = {
        "host": config.get("HOST") or "127.0.0.1",
        "port": config.get("PORT") or 5432,
        "user": config.get("USER") or "postgres",
        "password": config.get("PASSWORD") or None,
    }
    name = config["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        if fresh or drop:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if drop:
            return
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


def _sql_text(value: object) -> str | None:
    """A model default as the text PostgreSQL reads for its column's type; None is NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class InsertSelect:
    """INSERT … SELECT into a model's table: the columns given as SQL expressions over a
    source, every other column the model's default (Django keeps most defaults in Python, so
    PostgreSQL's own would be missing). The rows are made by PostgreSQL, never held here.

    Read from the model, so a column another change adds (with a default) needs nothing here.
    """

    def __init__(self, model, now: datetime) -> None:
        from django.db import connection

        self.table = model._meta.db_table
        self.fields = list(model._meta.concrete_fields)
        # attname: (SQL, its parameters), or None when the column must be given.
        self.defaults: dict[str, tuple[str, list] | None] = {}
        for field in self.fields:
            if field.primary_key:
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                text = _sql_text(now)
            else:
                text = _sql_text(field.get_default())
            if text is not None:
                self.defaults[field.attname] = (f"CAST(%s AS {field.db_type(connection)})", [text])
            else:
                self.defaults[field.attname] = ("NULL", []) if field.null else None

    def insert(self, cursor, columns: dict[str, str], source: str, params: Iterable = ()) -> int:
        """Inserts one row a row of `source` (SQL after FROM, with `params`); `columns` maps
        attnames to expressions over it (no parameters in them). Returns the rows inserted."""
        names, select, values = [], [], []
        for field in self.fields:
            if field.attname in columns:
                names.append(field.column)
                select.append(columns[field.attname])
                continue
            if field.primary_key:
                continue
            default = self.defaults[field.attname]
            if default is None:
                raise ValueError(f"{self.table}: no value for {field.attname}")
            names.append(field.column)
            select.append(default[0])
            values += default[1]
        cursor.execute(
            f"INSERT INTO {self.table} ({', '.join(names)}) "
            f"SELECT {', '.join(select)} FROM {source}",
            [*values, *params],
        )
        return cursor.rowcount


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _one_of(options: list[str], random_column: str, weights: list[float] | None = None) -> str:
    """SQL choosing one of `options` (constants of this file) by `weights` (else evenly), with
    a uniform random column in [0, 1)."""
    weights = weights or [1.0] * len(options)
    total, bound, bounds = sum(weights), 0.0, []
    for weight in weights:
        bounds.append(bound / total)
        bound += weight
    return (
        f"(ARRAY[{', '.join(map(_quoted, options))}])"
        f"[width_bucket({random_column}, ARRAY[{', '.join(map(repr, bounds))}]::float8[])]"
    )


# The campaigns that may change by themselves now (sending, ready, scheduled, waiting): what
# people and the engine have in flight, which does not grow with the years of history behind
# it. 300 at 100,000 campaigns (0.3 %), and no more at 1,000,000: the ledger of the ones sending
# (a third of them, ~10,000 recipients each) stays ~1M rows.
LIVE_CAMPAIGNS = 300


def load_campaigns(count: int, contacts: int, list_ids: list[int], seed: int = 7) -> dict:
    """Makes `count` campaigns with parts, events, snapshots and (campaigns sending now) ledger
    rows, in PostgreSQL (INSERT … SELECT over generate_series, random() seeded): a million
    campaigns are never Python objects. Returns what was loaded."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from bench._seed import indexes_rebuilt_after
    from bench.contact_pages import phone_sql
    from campaigns.models import (
        Campaign,
        CampaignEvent,
        CampaignPart,
        CampaignSnapshot,
        Recipient,
    )

    now = timezone.now()
    users = [
        get_user_model().objects.get_or_create(username=f"author{n}")[0].pk for n in range(1, 7)
    ]
    recent_from = count - min(LIVE_CAMPAIGNS, max(10, count * 3 // 1000))
    figures: dict[str, int] = {}
    started = time.perf_counter()

    def loaded(what: str) -> None:
        # A million campaigns take minutes: say how far the load is.
        print(
            f"  web load: {figures[what]:,} {what} ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

    # The campaigns' own indexes (seventeen on the campaign, a trigram GIN among them) are
    # built once after the rows are in, not maintained row by row through a million inserts
    # (bench/_seed.py); the constraints' indexes stay, so the rows are checked as the app's are.
    tables = [
        model._meta.db_table
        for model in (Campaign, Campaign.lists.through, CampaignPart, CampaignSnapshot)
    ] + [CampaignEvent._meta.db_table, Recipient._meta.db_table]
    with indexes_rebuilt_after(tables), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [seed / 100])
        # One row a campaign with its random draws; ids grow with creation time (id = i + 1).
        cursor.execute(
            "CREATE TEMP TABLE wl_draw AS SELECT i + 1 AS id, i, %s::timestamptz AS now_at, "
            "%s::timestamptz - interval '730 days' + interval '730 days' * (i + 1) / %s "
            "- random() * interval '60 seconds' AS created, i >= %s AS recent, "
            + ", ".join(f"random() AS r_{name}" for name in DRAWS)
            + " FROM generate_series(0, %s - 1) AS i ORDER BY i",
            [now, now, count, recent_from, count],
        )
        # The newest are the live ones; every third is sending, so even a tiny run has
        # campaigns whose parts panel polls.
        recent_status = _one_of(
            ["ready", "scheduled", "draft", "finished", "stopped"], "r_status", [5, 25, 30, 35, 5]
        )
        old_status = _one_of(
            ["finished", "stopped", "cancelled", "draft"], "r_status", [78, 4, 4, 14]
        )
        cursor.execute(
            "CREATE TEMP TABLE wl_campaign AS SELECT c.*, "
            "CASE WHEN status IN ('sending', 'finished', 'stopped') "
            "THEN created + interval '2 minutes' END AS dispatched_at, "
            "CASE WHEN channel = 'sms' THEN 10000 ELSE 5000 END AS part_size, "
            "CASE WHEN status = 'sending' THEN least(%s, 500 + floor(r_size * 19501)::int) "
            "WHEN r_big < 0.9 THEN 50 + floor(r_size * 8951)::int "
            "ELSE 10000 + floor(r_size * 70001)::int END AS recipients "
            "FROM (SELECT d.*, "
            f"CASE WHEN recent AND mod(i, 3) = 0 THEN 'sending' WHEN recent THEN {recent_status} "
            f"ELSE {old_status} END AS status, "
            "CASE WHEN r_channel < 0.15 THEN 'rcs' ELSE 'sms' END AS channel, "
            f"{_one_of(NAME_WORDS, 'r_word')} AS word, "
            f"{_one_of(CITIES, 'r_city')} AS city, {_one_of(CITIES, 'r_city2')} AS city2 "
            "FROM wl_draw d) c",
            [contacts],
        )
        modes = _one_of(["individual", "numbers", "groups"], "r_mode", [70, 20, 10])
        senders = _one_of(SENDERS, "r_sender", [1 / (n + 1) for n in range(len(SENDERS))])
        cursor.execute(
            "CREATE TEMP TABLE wl_full AS SELECT c.*, "
            f"CASE WHEN channel = 'sms' THEN {modes} ELSE 'individual' END AS sms_mode, "
            "CASE WHEN channel = 'sms' THEN word || ': up to 30% off this week in ' || city2 "
            "|| '. Reply STOP to opt out.' ELSE '' END AS text "
            "FROM wl_campaign c",
        )
        figures["campaigns"] = InsertSelect(Campaign, now).insert(
            cursor,
            {
                "id": "id",
                "name": "word || ' ' || city || ' ' || "
                "to_char(created AT TIME ZONE 'UTC', 'YYYY-MM') || ' #' || i",
                "channel": "channel",
                "sms_mode": "sms_mode",
                "text": "text",
                "sender": f"CASE WHEN channel = 'sms' THEN {senders} ELSE '' END",
                "rcs_agent": "CASE WHEN channel = 'rcs' THEN 'bsg_demo_agent' ELSE '' END",
                "status": "status",
                "created_by_id": f"(ARRAY{users})[1 + floor(r_user * {len(users)})::int]",
                "created_at": "created",
                "updated_at": "created",
                "created_elsewhere": "status IN ('finished', 'sending') AND r_elsewhere < 0.02",
                "start_at": "CASE WHEN status = 'scheduled' "
                "THEN now_at + interval '1 hour' + r_start * interval '479 hours' "
                "WHEN status <> 'draft' AND r_later < 0.3 "
                "THEN created + interval '1 hour' + r_start * interval '47 hours' END",
                "send_requested_at": "CASE WHEN status = 'scheduled' THEN created "
                "WHEN status <> 'draft' THEN created + interval '1 minute' END",
                "dispatched_at": "dispatched_at",
                "stopped_at": "CASE WHEN status IN ('stopped', 'cancelled') "
                "THEN created + interval '30 minutes' END",
            },
            "wl_full ORDER BY id",
        )
        loaded("campaigns")
        lists_table = Campaign.lists.through._meta.db_table
        cursor.execute(
            f"INSERT INTO {lists_table} (campaign_id, contactlist_id) "
            f"SELECT id, (ARRAY{list_ids})[1 + floor(r_list * {len(list_ids)})::int] "
            "FROM wl_full WHERE sms_mode <> 'numbers' ORDER BY id"
        )

        # Parts: one per 10,000 SMS (5,000 RCS) recipients of every campaign that went out;
        # the last of a campaign sending now still waits (pending) when it has several.
        cursor.execute(
            "CREATE TEMP TABLE wl_part AS SELECT q.*, "
            "CASE WHEN pending THEN 0 WHEN campaign_status = 'sending' "
            "THEN floor(sent * (0.5 + 0.45 * r_delivered))::int "
            "ELSE floor(in_part * (0.85 + 0.14 * r_delivered))::int END AS delivered, "
            "CASE WHEN pending THEN '' WHEN campaign_status = 'sending' THEN 'sending' "
            "WHEN campaign_status = 'finished' THEN 'done' ELSE 'stopped' END AS bsg_status "
            "FROM (SELECT p.*, "
            "CASE WHEN pending THEN 0 WHEN campaign_status = 'sending' "
            "THEN floor(in_part * (0.3 + 0.7 * r_sent))::int ELSE in_part END AS sent, "
            "CASE WHEN pending THEN NULL "
            "ELSE dispatched_at + interval '1 minute' * number END AS submitted_at "
            "FROM (SELECT row_number() OVER (ORDER BY c.id, n.number) AS id, "
            "c.id AS campaign_id, n.number, c.status AS campaign_status, c.dispatched_at, "
            "c.created, c.part_size, c.text, c.now_at, "
            "least(c.part_size, c.recipients - (n.number - 1) * c.part_size) AS in_part, "
            "c.status = 'sending' AND n.number = c.parts AND c.parts > 1 AS pending, "
            "random() AS r_sent, random() AS r_delivered "
            "FROM (SELECT *, ceil(recipients::numeric / part_size)::int AS parts FROM wl_full "
            "WHERE status IN ('sending', 'finished', 'stopped')) c "
            "CROSS JOIN LATERAL generate_series(1, c.parts) AS n (number) "
            "ORDER BY c.id, n.number) p) q"
        )
        ended = "campaign_status <> 'sending'"
        figures["parts"] = InsertSelect(CampaignPart, now).insert(
            cursor,
            {
                "id": "id",
                "campaign_id": "campaign_id",
                "number": "number",
                "recipients": "in_part",
                "bsg_campaign_id": "CASE WHEN NOT pending THEN 10000000 + id END",
                "state": "CASE WHEN pending THEN 'pending' ELSE 'submitted' END",
                "submitted_at": "submitted_at",
                "last_polled_at": "CASE WHEN pending THEN NULL "
                "WHEN campaign_status = 'sending' THEN now_at ELSE submitted_at END",
                "attempts": "CASE WHEN pending THEN 0 ELSE 1 END",
                "currency": "'EUR'",
                "bsg_status": "bsg_status",
                "sent": "sent",
                "delivered": "delivered",
                "breakdown": f"CASE WHEN {ended} "
                "THEN jsonb_build_object('failed', in_part - delivered) ELSE '{}'::jsonb END",
                "price": f"CASE WHEN {ended} THEN in_part * 0.021 END",
                "finished_at": f"CASE WHEN {ended} THEN submitted_at + interval '2 hours' END",
            },
            "wl_part ORDER BY id",
        )
        loaded("parts")
        for table in ("campaigns_campaign", "campaigns_campaignpart"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )

        # Delivery over time: every live part, and one finished campaign in ten.
        figures["snapshots"] = InsertSelect(CampaignSnapshot, now).insert(
            cursor,
            {
                "campaign_id": "campaign_id",
                "part_id": "id",
                "taken_at": "submitted_at + (CASE WHEN campaign_status = 'sending' "
                "THEN now_at - submitted_at ELSE interval '2 hours' END) * step / steps",
                "bsg_status": "CASE WHEN step = steps THEN bsg_status ELSE 'sending' END",
                "sent": "floor(sent * step::numeric / steps)::int",
                "delivered": "floor(delivered * step::numeric / steps)::int",
            },
            "(SELECT p.*, CASE WHEN campaign_status = 'sending' THEN 30 ELSE 8 END AS steps "
            "FROM wl_part p WHERE NOT pending "
            "AND (campaign_status = 'sending' OR mod(campaign_id, 10) = 0)) p "
            "CROSS JOIN LATERAL generate_series(1, p.steps) AS s (step) "
            "ORDER BY p.id, s.step",
        )

        loaded("snapshots")
        figures["events"] = InsertSelect(CampaignEvent, now).insert(
            cursor,
            {
                "campaign_id": "campaign_id",
                "kind": "kind",
                "message": "message",
                "user_id": "user_id",
                "created_at": "at",
            },
            "(SELECT id AS campaign_id, 'created' AS kind, 'Created' AS message, "
            "created_by_id AS user_id, created_at AS at, 0 AS step FROM campaigns_campaign "
            "UNION ALL SELECT id, 'send_requested', 'Send requested', created_by_id, "
            "created_at + interval '1 minute', 1 FROM campaigns_campaign WHERE status <> 'draft' "
            "UNION ALL SELECT campaign_id, 'submitted', 'Part ' || number || ' submitted to BSG', "
            "NULL, created + interval '1 minute' * (2 + number), 1 + number FROM wl_part "
            "WHERE number <= 3 "
            "UNION ALL SELECT id, status, initcap(status), NULL, created_at + interval '2 hours', "
            "9 FROM campaigns_campaign WHERE status IN ('finished', 'stopped', 'cancelled')) e "
            "ORDER BY campaign_id, step",
        )

        loaded("events")
        # The ledger of the campaigns sending now (the others' is not what these pages read).
        phone = phone_sql(f"mod(p.first_phone + k, {max(contacts, 1)})")
        figures["ledger"] = InsertSelect(Recipient, now).insert(
            cursor,
            {
                "campaign_id": "campaign_id",
                "part_id": "id",
                "seq": "seq",
                "phone": "phone",
                "text": "text",
                "sms_parts": "1",
                "reference_id": "'wl' || campaign_id || 'r' || seq",
                "bsg_message_id": "CASE WHEN NOT pending THEN (10000000 + id) * 100000 + k END",
                "status": "status",
                "status_at": "CASE WHEN status <> '' THEN now_at END",
            },
            f"(SELECT p.*, k, (p.number - 1) * p.part_size + k AS seq, {phone} AS phone, "
            "CASE WHEN NOT p.pending AND k < p.sent "
            "THEN CASE WHEN k < p.delivered THEN 'delivered' ELSE 'sent' END "
            "ELSE '' END AS status "
            "FROM (SELECT *, coalesce(sum(in_part) OVER (ORDER BY id "
            "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS first_phone "
            "FROM wl_part WHERE campaign_status = 'sending') p "
            "CROSS JOIN LATERAL generate_series(0, p.in_part - 1) AS k) r "
            "ORDER BY id, k",
        )
        loaded("ledger")
        cursor.execute("SELECT count(*) FROM campaigns_campaign WHERE status = 'sending'")
        figures["sending"] = cursor.fetchone()[0]
        cursor.execute("DROP TABLE wl_draw, wl_campaign, wl_full, wl_part")
    return figures


# The random draws of each campaign (wl_draw's r_<name> columns).
DRAWS = (
    "status",
    "channel",
    "mode",
    "word",
    "city",
    "city2",
    "sender",
    "user",
    "elsewhere",
    "start",
    "later",
    "list",
    "size",
    "big",
)


def prepare_data(*, campaigns: int, contacts: int) -> dict:
    """Loads the data unless the database already holds exactly these sizes."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from bench.contact_pages import load_contacts
    from campaigns.models import Campaign
    from contacts.models import Contact, ContactField, ContactList, DoNotContact

    # A campaign author, as most people at this dashboard are: not a superuser, so every request
    # pays for the permission checks (config/access.py) a real user's request does.
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    user.is_staff = user.is_superuser = False
    user.set_password(BENCH_PASSWORD)
    user.save()
    authors = Group.objects.filter(name=BENCH_GROUP).first()
    if authors is None:
        raise SystemExit(f"no group {BENCH_GROUP!r}: are campaigns' migrations applied?")
    user.groups.set([authors])
    if Campaign.objects.count() == campaigns and Contact.objects.count() == contacts:
        return {"reused": 1}
    started = time.perf_counter()
    tables = [m._meta.db_table for m in (Campaign, Contact, ContactList, DoNotContact)]
    tables.append(ContactField._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    lists = load_contacts(contacts)
    contacts_seconds = time.perf_counter() - started
    figures = load_campaigns(campaigns, contacts, list(lists.values()))
    with connection.cursor() as cursor:
        # A database that has run a while has its visibility map and statistics.
        cursor.execute("VACUUM ANALYZE")
    figures["contacts_seconds"] = round(contacts_seconds, 1)
    figures["load_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def request_mix(*, campaigns: int) -> list[dict]:
    """What the simulated users ask for, with weights: the list in its common shapes, and the
    live parts panel of the campaigns sending now."""
    from django.urls import reverse

    from campaigns import dashboard
    from campaigns.models import Campaign

    sending = list(
        Campaign.objects.filter(status=Campaign.Status.SENDING, parts__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
    )
    if not sending:
        raise SystemExit("no sending campaign with parts in the bench data")
    listing = reverse("campaigns:list")
    # A page deep into the list, as following "Older" ten times gives it (the keyset cursor).
    older = Campaign.objects.order_by("-created_at", "-id")[min(campaigns - 1, 250)]
    later = f"after={dashboard.CAMPAIGN_KEYSET.cursor_of(older)}"
    htmx = {"HX-Request": "true"}
    today = date.today()
    return [
        {"name": "list", "paths": [listing], "weight": 25},
        {"name": "list ?status=sending", "paths": [f"{listing}?status=sending"], "weight": 10},
        {
            "name": "list ?status=finished&channel=sms",
            "paths": [f"{listing}?status=finished&channel=sms"],
            "weight": 5,
        },
        {
            "name": "list ?sender=",
            "paths": [f"{listing}?sender={s}" for s in SENDERS[:6]],
            "weight": 5,
        },
        {"name": "list ?q=", "paths": [f"{listing}?q={SEARCH_WORD}"], "weight": 5},
        {
            "name": "list date range",
            "paths": [f"{listing}?created_from={today - timedelta(days=90)}&created_to={today}"],
            "weight": 5,
        },
        {
            "name": "list, later page",
            "paths": [f"{listing}?{later}"],
            "weight": 5,
        },
        {
            "name": "parts panel (htmx)",
            "paths": [reverse("campaigns:parts", args=[pk]) for pk in sending],
            "headers": htmx,
            "weight": 40,
        },
    ]


def floor_request() -> dict:
    """The floor every page is measured against: the smallest signed-in page (the layout and
    one sentence) through the same middleware, session, authentication and permission cache.
    Not in the mix: the floor's own phase and CPU figure come before the mix's."""
    from django.urls import reverse

    return {"name": FLOOR, "paths": [reverse("accounts:signed-in")], "weight": 0}


# --- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_environment(database_url: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings_production",
        DATABASE_URL=database_url,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        # Nothing these pages show calls BSG; if one did, it would fail fast and be counted.
        BSG_API_URL="http://127.0.0.1:9",
        BSG_API_KEY="bench-key-never-used",
        # A production deployment keeps its database connections (a new PostgreSQL backend per
        # request costs a fork and the authentication).
        CONN_MAX_AGE=env.get("CONN_MAX_AGE", "60"),
        LOG_LEVEL="WARNING",
    )
    return env


def start_gunicorn(
    env: dict[str, str], port: int, args, log: Path, *, timeout: int = 60
) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads),
        "--error-logfile", str(log),
        "--log-level", "warning",
        "--timeout", str(timeout),
    ]  # fmt: skip
    # Django logs to stderr: into the same file, shown when something went wrong.
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)


def _wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            # The first answer of each worker imports and warms Django: slow on a busy machine.
            requests.get(f"{base}/accounts/login/", timeout=15, headers=PROXY_HEADERS)
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
            continue
        return
    raise SystemExit("gunicorn did not answer within 60 s")


PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def log_in(base: str) -> str:
    """Logs in through the login form as a browser behind the TLS proxy would; returns the
    Cookie header of the session."""
    import requests

    host = urlsplit(base).netloc
    origin = f"https://{host}"
    page = requests.get(f"{base}/accounts/login/", headers=PROXY_HEADERS, timeout=10)
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    csrf_cookie = page.cookies["csrftoken"]
    answer = requests.post(
        f"{base}/accounts/login/",
        data={
            "username": BENCH_USER,
            "password": BENCH_PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
        },
        headers={
            **PROXY_HEADERS,
            "Cookie": f"csrftoken={csrf_cookie}",
            "Origin": origin,
            "Referer": f"{origin}/accounts/login/",
        },
        allow_redirects=False,
        timeout=30,
    )
    session = answer.cookies.get("sessionid")
    if answer.status_code != 302 or not session:
        raise SystemExit(f"login failed: HTTP {answer.status_code}\n{answer.text[:2000]}")
    return f"sessionid={session}; csrftoken={csrf_cookie}"


def other_sessions(count: int) -> list[str]:
    """Cookie headers of `count` more people in the bench group, each with their own session,
    made the way `Client.force_login` makes them (the password hasher's second of CPU per
    login is not what this bench measures). Needs the server's SECRET_KEY in this process."""
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    group = Group.objects.get(name=BENCH_GROUP)
    cookies = []
    for n in range(1, count + 1):
        user, created = get_user_model().objects.get_or_create(username=f"{BENCH_USER}{n}")
        if created:
            user.set_unusable_password()
            user.save()
            user.groups.set([group])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    connection.close()
    return cookies


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children that are still running."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _database_backends_cpu_seconds() -> float:
    """CPU seconds used so far by the other PostgreSQL backends of this database (gunicorn's
    kept connections, opened during this run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return sum(_cpu_seconds(pid) for pid in pids)


# --- the load (second process) -----------------------------------------------------------------


def request_cycle(mix: list[dict]) -> list[dict]:
    """The mix as one short cycle that interleaves the kinds by weight (smooth weighted
    round-robin): every kind comes up within one cycle, so even a short run asks for each."""
    divisor = math.gcd(*(m["weight"] for m in mix))
    weights = [m["weight"] // divisor for m in mix]
    credit = [0] * len(mix)
    cycle = []
    for _ in range(sum(weights)):
        credit = [c + w for c, w in zip(credit, weights, strict=True)]
        best = max(range(len(mix)), key=credit.__getitem__)
        credit[best] -= sum(weights)
        cycle.append(mix[best])
    return cycle


ARRIVALS = ("spread", "poisson", "lockstep")


class Pace:
    """One simulated user's pace in the steady phase: one request a period on average.

    `spread` (the default): each user starts at its own random moment within the first period,
    then keeps one request a period, start to start; people at their desks do not click in
    the same instant. `poisson`: the time from one start to the next is drawn at random
    (exponential, mean one period), so the users together are a Poisson stream whose chance
    clumps the server must absorb. `lockstep`: every user starts in the same instant (locust
    spawns them in one batch, and its constant_throughput counts from the spawn), so they fire
    all at once `rate / users` times a second: a burst, not a steady rate. A request that ends
    late is never made up for by a burst of the next ones.
    """

    def __init__(
        self, period: float, *, arrivals: str, now: float, rng: random.Random | None = None
    ) -> None:
        if arrivals not in ARRIVALS:
            raise ValueError(f"arrivals must be one of {', '.join(ARRIVALS)}, not {arrivals!r}")
        self.period, self.arrivals = period, arrivals
        self.rng = rng or random.Random()
        offset = 0.0 if arrivals == "lockstep" else self.rng.uniform(0, period)
        self.next_start = now + offset

    def wait(self, now: float) -> float:
        """Seconds to wait, at `now` (a request just ended), before the next one starts."""
        gap = self.rng.expovariate(1 / self.period) if self.arrivals == "poisson" else self.period
        self.next_start = max(self.next_start + gap, now)
        return self.next_start - now


def drive(spec_path: str) -> int:
    """Runs in its own process: locust's users against the server, figures as JSON on stdout."""
    import gevent
    from locust import FastHttpUser, events, task
    from locust.env import Environment

    spec = json.loads(Path(spec_path).read_text())
    cycle = request_cycle(spec["mix"])
    cookies = spec["cookies"]
    recorder: dict = {"on": False, "times": {}, "errors": {}, "all": 0}

    @events.request.add_listener
    def _record(name, response_time, exception, response=None, **_kwargs):
        recorder["all"] += 1  # warm-up included: the server's CPU is shared out over these
        if not recorder["on"]:
            return
        recorder["times"].setdefault(name, []).append(response_time)
        if exception is not None:
            key = f"{name}: {exception}"[:200]
            recorder["errors"][key] = recorder["errors"].get(key, 0) + 1

    floor = spec["floor"]
    # "floor": every user asks for the floor page with no pause (its saturation rate); "paced":
    # the mix at the steady rate (`period` a user, set once the floor's rate is known);
    # "saturate": the mix with no pause. `epoch` tells each user its pace must start again.
    load: dict = {"mode": "floor", "period": 0.0, "epoch": 0}

    class DashboardUser(FastHttpUser):
        host = spec["host"]
        started = 0

        def on_start(self) -> None:
            # Each user walks the cycle from its own place, so the users together keep the mix
            # from the first second on.
            self.position = DashboardUser.started * len(cycle) // spec["users"]
            # Each simulated person has their own session, as 50 people at their desks would.
            self.headers = {
                **PROXY_HEADERS,
                "Cookie": cookies[DashboardUser.started % len(cookies)],
            }
            DashboardUser.started += 1
            self.pace, self.epoch = None, -1

        def wait_time(self) -> float:
            if load["mode"] != "paced":
                return 0.0
            now = time.perf_counter()
            if self.epoch != load["epoch"]:
                # The steady phase begins: this user's first request at its own moment.
                self.pace = Pace(load["period"], arrivals=spec["arrivals"], now=now)
                self.epoch = load["epoch"]
                return self.pace.next_start - now
            return self.pace.wait(now)

        @task
        def one_page(self) -> None:
            if load["mode"] == "floor":
                choice = floor
            else:
                choice = cycle[self.position % len(cycle)]
                self.position += 1
            path = random.choice(choice["paths"])
            with self.client.get(
                path,
                name=choice["name"],
                headers={**self.headers, **choice.get("headers", {})},
                allow_redirects=False,
                catch_response=True,
            ) as response:
                if response.status_code != 200:
                    response.failure(f"HTTP {response.status_code}")

    def phase(seconds: float) -> dict:
        recorder.update(on=True, times={}, errors={})
        started = time.perf_counter()
        gevent.sleep(seconds)
        elapsed = time.perf_counter() - started
        recorder["on"] = False
        return {"seconds": elapsed, "times": recorder["times"], "errors": recorder["errors"]}

    env = Environment(user_classes=[DashboardUser], events=events)
    runner = env.create_local_runner()
    runner.start(spec["users"], spawn_rate=spec["users"])
    # The whole warm-up: the first phase also pays for each worker's first requests (templates,
    # each person's session and permissions into the cache).
    gevent.sleep(spec["warmup"])
    floor_phase = phase(spec["floor_seconds"])
    floor_rate = sum(map(len, floor_phase["times"].values())) / floor_phase["seconds"]
    # The steady rate: FLOOR_LOAD_SHARE of what this machine served of the floor page, unless
    # asked for in req/s.
    rate = spec["rate"] or floor_rate * spec["floor_share"]
    load.update(mode="paced", period=spec["users"] / rate, epoch=load["epoch"] + 1)
    gevent.sleep(spec["warmup"])
    steady = phase(spec["seconds"])
    load["mode"] = "saturate"
    gevent.sleep(min(2.0, spec["warmup"]))
    saturation = phase(spec["saturation_seconds"])
    runner.quit()
    print(
        json.dumps(
            {
                "floor": floor_phase,
                "rate": rate,
                "steady": steady,
                "saturation": saturation,
                "client_cpu_warning": bool(getattr(runner, "cpu_warning_emitted", False)),
                "all_requests": recorder["all"],
            }
        )
    )
    return 0


# --- figures -----------------------------------------------------------------------------------


def cpu_per_request(mix: list[dict], repeats: int) -> dict[str, dict]:
    """CPU milliseconds and queries of one request of each kind, and of the floor, served in
    this process by Django's test client as the bench user: the same middleware, view, queries
    and template, without HTTP. Unlike latency, CPU time hardly moves with the machine's load,
    so it says how many requests a core can serve, and what to make cheaper when a target is
    missed; as a multiple of the floor's it hardly moves with the machine either.

    The floor is timed first and last, and its cost is the mean of the two: a machine that
    slows down while the kinds are timed moves both ends (its `drift`)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # As under gunicorn: the connection is kept, not opened again for every request.
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    # And as config.settings_production has them: sessions read from the cache, the list's
    # rows shared for a moment.
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CAMPAIGN_LIST_CACHE_SECONDS = 2
    settings.CAMPAIGN_PARTS_CACHE_SECONDS = 300
    client = Client()
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    costs = {}

    def measure(kind: dict) -> dict:
        headers = {
            f"HTTP_{k.upper().replace('-', '_')}": v for k, v in kind.get("headers", {}).items()
        }
        paths = kind["paths"]
        for path in paths:
            # Warm: templates compiled, connection open, and the caches holding what a minute
            # of load would have put there (a cache miss costs what the page did uncached).
            client.get(path, **headers)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(paths[0], **headers)
        # Read now: captured_queries is a view of the connection's log, which the next request
        # empties.
        query_count = len(queries.captured_queries)
        if response.status_code != 200:
            raise SystemExit(f"{kind['name']}: HTTP {response.status_code} from {paths[0]}")
        started = time.process_time()
        for n in range(repeats):
            client.get(paths[n % len(paths)], **headers)
        return {
            "cpu_ms": (time.process_time() - started) * 1000 / repeats,
            "queries": query_count,
            "weight": kind["weight"],
        }

    floor = floor_request()
    first = measure(floor)
    for kind in mix:
        costs[kind["name"]] = measure(kind)
    last = measure(floor)
    costs[FLOOR] = {
        **first,
        "cpu_ms": (first["cpu_ms"] + last["cpu_ms"]) / 2,
        "drift": last["cpu_ms"] / first["cpu_ms"] - 1 if first["cpu_ms"] else 0.0,
    }
    connection.close()
    return costs


def uncached_queries(mix: list[dict], *, plan_over_ms: float) -> list[str]:
    """Each kind's queries with the list's and the panel's caches off, as a request that misses
    them runs them (once every CAMPAIGN_LIST_CACHE_SECONDS for each list variant under load):
    their count, PostgreSQL's execution time of each (EXPLAIN ANALYZE, run again), and the plan
    of every query slower than `plan_over_ms` (once: every page repeats the layout's). What
    grows with the data shows here, not in the warm figures: PostgreSQL's time is not the web
    process's CPU."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench._plans import plan_block, plan_of

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.CAMPAIGN_LIST_CACHE_SECONDS = settings.CAMPAIGN_PARTS_CACHE_SECONDS = 0
    client = Client()
    client.force_login(get_user_model().objects.get(username=BENCH_USER))
    lines, plans, planned = [], [], set()
    for kind in [floor_request(), *mix]:
        headers = {
            f"HTTP_{k.upper().replace('-', '_')}": v for k, v in kind.get("headers", {}).items()
        }
        path = kind["paths"][0]
        client.get(path, **headers)  # templates compiled, the connection open
        with CaptureQueriesContext(connection) as captured:
            client.get(path, **headers)
        selects = [
            query["sql"]
            for query in captured.captured_queries
            if query["sql"].lstrip().upper().startswith(("SELECT", "WITH"))
        ]
        timed = []
        for sql in selects:
            plan = plan_of(sql)
            found = re.search(r"Execution Time: ([0-9.]+) ms", plan)
            timed.append((float(found.group(1)) if found else 0.0, sql, plan))
        slowest = max(timed, default=(0.0, "", ""))
        lines.append(
            f"  {kind['name']:<36} {len(captured.captured_queries)} queries, "
            f"{sum(t[0] for t in timed):7.2f} ms executing (slowest {slowest[0]:.2f} ms: "
            f"{slowest[1][:60]})"
        )
        for ms, sql, plan in timed:
            # The same statement but for its literals (a session key, a time) is planned once.
            shape = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
            if ms > plan_over_ms and shape not in planned:
                planned.add(shape)
                plans.append(plan_block(f"{kind['name']}, {ms:.2f} ms", sql, plan))
    connection.close()
    return [*lines, *plans]


def _print_plans(mix: list[dict], args) -> None:
    if args.plans:
        print(f"queries of a request that misses the caches (plans over {args.plan_over:g} ms):")
        print("\n".join(uncached_queries(mix, plan_over_ms=args.plan_over)))


def floor_ratios(costs: dict[str, dict]) -> dict[str, float]:
    """Each kind's CPU a request as a multiple of the floor's, and the mix's (`the mix`)."""
    floor = costs[FLOOR]["cpu_ms"]
    kinds = {name: cost for name, cost in costs.items() if name != FLOOR}
    ratios = {name: cost["cpu_ms"] / floor for name, cost in kinds.items()}
    weights = sum(cost["weight"] for cost in kinds.values())
    ratios["the mix"] = sum(ratios[n] * c["weight"] for n, c in kinds.items()) / weights
    return ratios


def _cpu_lines(costs: dict[str, dict]) -> list[str]:
    """The in-process figures, a line a kind: CPU, queries, and the multiple of the floor."""
    ratios = floor_ratios(costs)
    floor = costs[FLOOR]
    lines = [
        f"  {FLOOR:<36} {floor['cpu_ms']:6.2f} ms  {floor['queries']} queries  (first to last "
        f"{floor['drift']:+.0%})"
    ]
    for name, cost in costs.items():
        if name == FLOOR:
            continue
        over = "  OVER" if ratios[name] > FLOOR_RATIO_TARGET else ""
        lines.append(
            f"  {name:<36} {cost['cpu_ms']:6.2f} ms  {cost['queries']} queries  "
            f"{ratios[name]:4.2f} x floor{over}"
        )
    lines.append(f"  the mix: {_mix_cpu(costs):.2f} ms a request, {ratios['the mix']:.2f} x floor")
    return lines


def _mix_cpu(costs: dict[str, dict]) -> float:
    kinds = [cost for name, cost in costs.items() if name != FLOOR]
    return sum(c["cpu_ms"] * c["weight"] for c in kinds) / sum(c["weight"] for c in kinds)


def _ratio_figures(costs: dict[str, dict]) -> list[tuple[str, float, str]]:
    return [
        ("floor CPU per request", round(costs[FLOOR]["cpu_ms"], 2), "ms"),
        *((f"{name} CPU / floor", round(r, 2), "x") for name, r in floor_ratios(costs).items()),
    ]


def _print_cpu_costs(costs: dict[str, dict]) -> None:
    """--cpu-only: the in-process figures alone, to measure a change in seconds, not minutes."""
    print("\n".join(_cpu_lines(costs)))
    for label, value, unit in _ratio_figures(costs):
        print(f"figure: {label} = {value} {unit}")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value at least `share` of the values are <=."""
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1_000_000) * len(ordered) // 1_000_000))
    return ordered[rank - 1]


def summarise(phase: dict) -> dict:
    every = [t for times in phase["times"].values() for t in times]
    count = len(every)
    result = {
        "requests": count,
        "seconds": round(phase["seconds"], 2),
        "rate": round(count / phase["seconds"], 1) if phase["seconds"] else 0.0,
        "failures": sum(phase["errors"].values()),
        "errors": phase["errors"],
        "by_name": {},
    }
    if every:
        result.update(
            p50=round(statistics.median(every), 1),
            p95=round(percentile(every, 0.95), 1),
            p99=round(percentile(every, 0.99), 1),
            max=round(max(every), 1),
        )
    for name, times in sorted(phase["times"].items()):
        result["by_name"][name] = {
            "requests": len(times),
            "p50": round(statistics.median(times), 1),
            "p95": round(percentile(times, 0.95), 1),
            "max": round(max(times), 1),
        }
    return result


def report(title: str, phase: dict) -> list[str]:
    lines = [
        f"{title}: {phase['requests']:,} requests in {phase['seconds']:.1f} s = "
        f"{phase['rate']:,.1f} req/s, {phase['failures']} failed",
    ]
    if phase["requests"]:
        lines.append(
            f"  latency ms: p50 {phase['p50']:.1f}, p95 {phase['p95']:.1f}, "
            f"p99 {phase['p99']:.1f}, max {phase['max']:.1f}"
        )
    for name, row in phase["by_name"].items():
        lines.append(
            f"  {name:<36} {row['requests']:>7,}  p50 {row['p50']:>6.1f}  p95 {row['p95']:>6.1f}"
            f"  max {row['max']:>7.1f} ms"
        )
    for error, times in sorted(phase["errors"].items()):
        lines.append(f"  error x{times}: {error}")
    return lines


def misses(steady: dict, rate: float, ratios: dict[str, float] | None = None) -> list[str]:
    """The targets the steady phase and the pages' CPU (as multiples of the floor's) missed, in
    words."""
    missed = [
        f"{name} costs {ratio:.2f} x the floor > {FLOOR_RATIO_TARGET:g} x"
        for name, ratio in (ratios or {}).items()
        if ratio > FLOOR_RATIO_TARGET
    ]
    if not steady["requests"]:
        return [*missed, "no request completed"]
    if steady["p95"] >= P95_TARGET_MS:
        missed.append(f"p95 {steady['p95']:.1f} ms >= {P95_TARGET_MS:.0f} ms")
    if steady["p99"] >= P99_TARGET_MS:
        missed.append(f"p99 {steady['p99']:.1f} ms >= {P99_TARGET_MS:.0f} ms")
    if steady["failures"]:
        missed.append(f"{steady['failures']} failed requests")
    if steady["rate"] < rate * MIN_RATE_SHARE:
        missed.append(f"achieved {steady['rate']:.1f} req/s < {MIN_RATE_SHARE:.0%} of {rate:g}")
    return missed


def _run_load(args, env: dict[str, str], base: str, cookies: list[str], mix: list[dict]) -> dict:
    spec = {
        "host": base,
        "cookies": cookies,
        "mix": mix,
        "rate": args.rate,
        "floor": floor_request(),
        "floor_seconds": args.floor_seconds,
        "floor_share": args.floor_share,
        "users": args.users,
        "arrivals": args.arrivals,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "saturation_seconds": args.saturation_seconds,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        driven = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--drive", handle.name],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=args.warmup + args.seconds + args.floor_seconds + args.saturation_seconds + 120,
        )
    finally:
        os.unlink(handle.name)
    if driven.returncode != 0:
        raise SystemExit(f"the load process failed ({driven.returncode}):\n{driven.stderr[-3000:]}")
    return json.loads(driven.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0, help="steady phase length")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="steady requests per second (default: --floor-share of the floor's saturation rate)",
    )
    parser.add_argument(
        "--floor-share",
        type=float,
        default=FLOOR_LOAD_SHARE,
        help="the steady rate as a share of the floor page's saturation rate",
    )
    parser.add_argument(
        "--floor-seconds", type=float, default=15.0, help="the floor page with no pause"
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds, not counted")
    parser.add_argument(
        "--arrivals",
        choices=ARRIVALS,
        default="spread",
        help="steady phase: users spread over the period (default), Poisson gaps, or lockstep",
    )
    parser.add_argument("--saturation-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=1, help="per worker (gthread)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data even if at size")
    parser.add_argument(
        "--drop", action="store_true", help="drop the database at the end (1.2 GB at full size)"
    )
    parser.add_argument(
        "--cpu-repeats", type=int, default=50, help="requests of each kind timed in-process"
    )
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="skip gunicorn and locust: only the in-process CPU per request of each kind",
    )
    parser.add_argument(
        "--plans",
        action="store_true",
        help="then each kind's queries with the caches off, and the plans of the slow ones",
    )
    parser.add_argument(
        "--plan-over",
        type=float,
        default=PLAN_OVER_MS,
        metavar="MS",
        help=f"--plans: plan the statements slower than this (default {PLAN_OVER_MS:g} ms)",
    )
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.drive:
        return drive(args.drive)

    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("bench/web_load.py needs DATABASE_URL pointing at PostgreSQL")
    database_url = bench_database_url(base_url, args.campaigns, args.contacts)
    _ensure_database(database_url, fresh=args.fresh)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The server's key, here too: the sessions made in this process must be valid there.
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(50)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_seconds = time.perf_counter() - started
    loaded = prepare_data(campaigns=args.campaigns, contacts=args.contacts)
    mix = request_mix(campaigns=args.campaigns)
    connection.close()
    if args.cpu_only:
        _print_cpu_costs(cpu_per_request(mix, args.cpu_repeats))
        _print_plans(mix, args)
        return 0
    sending = len(mix[-1]["paths"])
    print(
        f"web load: {args.campaigns:,} campaigns ({sending:,} sending), {args.contacts:,} "
        f"contacts in {database_url.rsplit('/', 1)[1]}; "
        + (
            "data reused"
            if loaded.get("reused")
            else "loaded in {load_seconds} s (contacts {contacts_seconds} s): {campaigns:,} "
            "campaigns, {parts:,} parts, {snapshots:,} snapshots, {events:,} events, "
            "{ledger:,} ledger rows".format(**loaded)
        )
        + f"; migrate {migrate_seconds:.1f} s",
        flush=True,
    )

    port = _free_port()
    env = _server_environment(database_url, port)
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "gunicorn.log"
        server = start_gunicorn(env, port, args, log)
        try:
            _wait_until_up(base, server, log)
            cookies = [log_in(base), *other_sessions(args.users - 1)]
            cpu_before = _cpu_seconds(server.pid)
            client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            driven = _run_load(args, env, base, cookies, mix)
            cpu_used = _cpu_seconds(server.pid) - cpu_before
            client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            client_cpu = (client_after.ru_utime + client_after.ru_stime) - (
                client_before.ru_utime + client_before.ru_stime
            )
            database_cpu = _database_backends_cpu_seconds()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        server_log = log.read_text() if log.exists() else ""

    costs = cpu_per_request(mix, args.cpu_repeats)
    floor_load = summarise(driven["floor"])
    steady, saturation = summarise(driven["steady"]), summarise(driven["saturation"])
    rate = driven["rate"]
    asked = (
        f"{rate:.0f} req/s asked"
        if args.rate
        else f"{rate:.0f} req/s asked: {args.floor_share:.0%} of the floor's saturation"
    )
    print(
        f"gunicorn {args.workers} workers ({args.worker_class}, {args.threads} thread(s)), "
        f"production settings, CONN_MAX_AGE={env['CONN_MAX_AGE']}; locust in its own process, "
        f"{args.users} users, {args.arrivals} arrivals; "
        f"machine load average {os.getloadavg()[0]:.2f}"
    )
    print("\n".join(report(f"floor page ({args.users} users, no pause)", floor_load)))
    print("\n".join(report(f"steady ({asked})", steady)))
    print("\n".join(report(f"saturation ({args.users} users, no pause)", saturation)))
    total_requests = driven["all_requests"]
    if total_requests:
        per = 1000 / total_requests
        print(
            f"CPU during the load ({total_requests:,} requests, warm-up included): gunicorn "
            f"{cpu_used:.1f} s (~{cpu_used * per:.1f} ms a request), PostgreSQL "
            f"{database_cpu:.1f} s (~{database_cpu * per:.1f} ms), locust {client_cpu:.1f} s "
            f"(~{client_cpu * per:.1f} ms); the machine has {os.cpu_count()} CPUs"
        )
    mix_cpu = _mix_cpu(costs)
    print(f"CPU per request in one process (test client, {args.cpu_repeats} of each):")
    print("\n".join(_cpu_lines(costs)))
    print(
        f"  the mix: {mix_cpu:.1f} ms a request, so one core serves at most "
        f"~{1000 / mix_cpu:.0f} req/s of it (PostgreSQL's and the load tool's CPU not counted)"
    )
    if driven["client_cpu_warning"]:
        print("note: locust reported its own CPU above 90 %: saturation is a lower bound")
    if "Traceback" in server_log or "ERROR" in server_log:
        print("gunicorn log:\n" + server_log[-3000:])
    for label, value, unit in (
        ("floor saturation throughput", floor_load["rate"], "req/s"),
        ("steady asked rate", round(rate, 1), "req/s"),
        ("steady p50", steady.get("p50", 0), "ms"),
        ("steady p95", steady.get("p95", 0), "ms"),
        ("steady p99", steady.get("p99", 0), "ms"),
        ("steady achieved rate", steady["rate"], "req/s"),
        ("steady failures", steady["failures"], ""),
        ("saturation throughput", saturation["rate"], "req/s"),
        ("saturation p95", saturation.get("p95", 0), "ms"),
        ("CPU per request, the mix", round(mix_cpu, 2), "ms"),
        (
            "gunicorn CPU per request under load",
            round(cpu_used * 1000 / max(total_requests, 1), 2),
            "ms",
        ),
        (
            "PostgreSQL CPU per request under load",
            round(database_cpu * 1000 / max(total_requests, 1), 2),
            "ms",
        ),
        *(
            (f"CPU per request, {name}", round(c["cpu_ms"], 2), "ms")
            for name, c in costs.items()
            if name != FLOOR
        ),
        *_ratio_figures(costs),
    ):
        print(f"figure: {label} = {value} {unit}".rstrip())
    _print_plans(mix, args)
    if args.drop:
        from django.db import connections

        connections.close_all()
        _ensure_database(database_url, fresh=False, drop=True)
    missed = misses(steady, rate, floor_ratios(costs))
    if missed:
        print("FAILED: " + "; ".join(missed), file=sys.stderr)
        return 1
    print(
        f"result: OK (p95 < 50 ms, p99 < 150 ms, no errors, every page <= "
        f"{FLOOR_RATIO_TARGET:g} x the floor's CPU)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
