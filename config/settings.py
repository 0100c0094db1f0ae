"""Settings for BSG Campaigns, read from the environment only (django-environ).

`.env.example` documents every variable. Production hardening lives in
`config/settings_production.py`, which starts from this module.
"""

from datetime import timedelta
from pathlib import Path

import environ
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is a convenience for people trying the app; the environment wins over it.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Only a development default: production settings require SECRET_KEY from the environment.
SECRET_KEY = env.str("SECRET_KEY", default="insecure-development-key-change-me")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # django.contrib.admin with every model's pages refusing what the database cannot take.
    "config.admin_app.BsgAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "axes",
    "accounts",
    "contacts",
    "campaigns",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from STATIC_ROOT (after `collectstatic`) without a proxy in front, before
    # login and permissions, which would otherwise redirect a signed-out browser's stylesheet.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of signed-out pages: the switcher's cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's own choice of language, kept on their account, wins over the above.
    "accounts.middleware.AccountLanguageMiddleware",
    # Remembers the user and address of this request for audit entries written deeper down.
    "audit.middleware.AuditContextMiddleware",
    # Django's LoginRequiredMiddleware; htmx's requests are sent to the log-in page as a page.
    "config.access.HtmxLoginRequiredMiddleware",
    # Every URL's permission from one table (config/access.py), after login is settled.
    "config.access.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                # LANGUAGE_CODE and LANGUAGES: <html lang>, the header's language switcher.
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.access.can",
                "campaigns.context_processors.inbox",
                "accounts.context_processors.language_switch",
            ],
            # Money, counts and phone numbers formatted one way on every page (config/numbers.py,
            # contacts/templatetags/phones.py).
            "builtins": [
                "config.numbers",
                "contacts.templatetags.phones",
                "django.contrib.humanize.templatetags.humanize",
            ],
        },
    },
]

# SQLite is the embedded default for trying the app; tests and production use PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file when someone tries the app: wait for locks
    # instead of failing, and take the write lock up front so two writers never deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

# The BSG bearer token lives in this cache so that every web and worker process shares one
# token. `make run` points CACHE_URL at a file cache when no Redis answers.
CACHES = {
    "default": env.cache("CACHE_URL", default=REDIS_URL.replace("redis://", "rediscache://", 1))
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same, without a new client object for every call (config/cache.py says why).
    CACHES["default"]["BACKEND"] = "config.cache.RedisCache"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "campaigns:home"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes) -------------------------------------------------------------
# AxesStandaloneBackend first: it refuses a locked-out username+address before the password is
# even checked. It needs the request, so tests log in with `client.force_login`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend with each user's permission set cached (every request checks one).
    "config.access.CachedPermissionBackend",
]
# 5 failures for one user name from one address lock that pair for 15 minutes; someone guessing
# at one account from elsewhere does not lock its owner out of their own desk.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The same client address the audit log records (TRUSTED_PROXY_COUNT below), so a lockout
# behind a reverse proxy locks the client, not the proxy.
AXES_CLIENT_IP_CALLABLE = "audit.middleware.client_address"
# The address is REMOTE_ADDR, never X-Forwarded-For, which any client can write. Behind a
# reverse proxy that is the proxy's address, so the lock then falls on the user name alone.

# The interface speaks English and Ukrainian (BSG's customers also write in Russian: a
# translation is one more `locale/<code>/` folder and a line here). Each person's choice is
# kept on their account (accounts.AccountSettings); until they choose, their browser's language
# if we offer it, else English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("uk", "Українська")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Uploaded import files and generated reports; the web and the worker must share this folder.
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# --- Content-Security-Policy (django-csp) -------------------------------------------------------
# Every script and style comes from our own static files: no inline code, no eval, no other host.
# htmx is told the same in templates/base.html (no indicator <style>, no eval for filters).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- People and permissions (config/access.py) -------------------------------------------------
# Four-eyes: a campaign goes out only after someone other than its author approves it. Off, a
# member of "Campaign approvers" sends directly from the composer.
CAMPAIGNS_FOUR_EYES = env.bool("CAMPAIGNS_FOUR_EYES", default=True)
# Test sends skip approval, so they go only to the phones an admin lists (Admin -> Test phones),
# at most this many per person per hour.
CAMPAIGNS_TEST_SENDS_PER_HOUR = env.int("CAMPAIGNS_TEST_SENDS_PER_HOUR", default=10)
# Seconds the campaigns list's rows are shared from the cache (campaigns.views.dashboard): 0 here,
# so a page always shows what was just written; production sets 2 (settings_production).
CAMPAIGN_LIST_CACHE_SECONDS = env.int("CAMPAIGN_LIST_CACHE_SECONDS", default=0)
# Seconds the detail page's polled parts panel is kept, under a fingerprint of its data (never
# stale, so this only bounds the cache's memory); 0 turns it off.
CAMPAIGN_PARTS_CACHE_SECONDS = env.int("CAMPAIGN_PARTS_CACHE_SECONDS", default=0)

# --- Email: a note to each person on every hand-off of approval (campaigns.handoffs) ----------
# Sent by the Celery worker, never in a request. Here (and under `make run`) the console backend
# prints each email in the worker's output; production sends through SMTP
# (config/settings_production.py). Any of Django's backends may be named.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
# SSL from the first byte (port 465), or STARTTLS (587): one of the two.
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=not EMAIL_USE_SSL)
# Seconds to wait for the mail server (Django waits forever by default); a worker that times out
# tries again later (campaigns.tasks.handoff_mail_send).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BSG Campaigns <campaigns@localhost>")
# Where people open the app: the links in those emails start with it.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Contacts ---------------------------------------------------------------------------------
# Region (ISO 3166 code) for phone numbers typed without their country code, e.g. "UA" or "GB".
CONTACTS_DEFAULT_REGION = env.str("CONTACTS_DEFAULT_REGION", default="UA")
# The largest import file accepted, in megabytes.
CONTACTS_IMPORT_MAX_MB = env.int("CONTACTS_IMPORT_MAX_MB", default=200)
# What any reading of an import file takes before it refuses the file (contacts.importing.
# reading.ReadLimits): columns, characters in a cell, empty rows in a row (more end the sheet),
# and for XLSX its size once inflated, in all and for its shared strings (held in memory), and
# how many times smaller than that a zip member may be packed.
CONTACTS_IMPORT_MAX_COLUMNS = env.int("CONTACTS_IMPORT_MAX_COLUMNS", default=300)
CONTACTS_IMPORT_MAX_CELL_CHARS = env.int("CONTACTS_IMPORT_MAX_CELL_CHARS", default=100_000)
CONTACTS_IMPORT_MAX_EMPTY_ROWS = env.int("CONTACTS_IMPORT_MAX_EMPTY_ROWS", default=10_000)
CONTACTS_IMPORT_XLSX_MAX_INFLATED_MB = env.int("CONTACTS_IMPORT_XLSX_MAX_INFLATED_MB", default=1024)
CONTACTS_IMPORT_XLSX_MAX_SHARED_STRINGS_MB = env.int(
    "CONTACTS_IMPORT_XLSX_MAX_SHARED_STRINGS_MB", default=100
)
CONTACTS_IMPORT_XLSX_MAX_RATIO = env.int("CONTACTS_IMPORT_XLSX_MAX_RATIO", default=100)
# Seconds without a heartbeat after which a reading, dry-running or importing task is taken as
# lost (its worker died): the sweep retries an import once, and fails the rest with a message.
CONTACTS_IMPORT_STALE_AFTER = env.int("CONTACTS_IMPORT_STALE_AFTER", default=300)
# Seconds between two of those sweeps (Celery beat).
CONTACTS_IMPORT_SWEEP_INTERVAL = env.int("CONTACTS_IMPORT_SWEEP_INTERVAL", default=60)

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport, but a worker that loses Redis mid-task reconnects instead of
    # exiting (config/broker.py).
    CELERY_BROKER_TRANSPORT = "config.broker:Transport"
CELERY_BROKER_TRANSPORT_OPTIONS = env.json("CELERY_BROKER_TRANSPORT_OPTIONS", default={})
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Three queues, so that sends never wait behind bulk work once workers are split (README,
# "Past one machine"): "engine" for everything that sends, polls and plans a campaign, "bulk"
# for contact work that may take minutes (imports, pushes to BSG, the search catch-up), and the
# default queue for emails. A worker started without -Q consumes all three, as `make run`'s does.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = (Queue("engine"), Queue("bulk"), Queue(CELERY_TASK_DEFAULT_QUEUE))
CELERY_TASK_ROUTES = {
    "campaigns.tasks.handoff_mail_send": {"queue": CELERY_TASK_DEFAULT_QUEUE},
    "campaigns.tasks.*": {"queue": "engine"},
    "contacts.tasks.*": {"queue": "bulk"},
}

# --- BSG One API ------------------------------------------------------------------------------
BSG_API_URL = env.str("BSG_API_URL", default="https://one-api.bsg.world")
BSG_API_KEY = env.str("BSG_API_KEY", default="")
# Time zone in which BSG reads `start_at` and writes every date it returns. The vendor does not
# say; this one setting holds the assumption, and the sandbox is started with the same value.
BSG_TIME_ZONE = env.str("BSG_TIME_ZONE", default="UTC")
BSG_CONNECT_TIMEOUT = env.float("BSG_CONNECT_TIMEOUT", default=5.0)
BSG_READ_TIMEOUT = env.float("BSG_READ_TIMEOUT", default=30.0)
# Seconds between two polls of live campaigns by Celery beat.
BSG_POLL_INTERVAL = env.int("BSG_POLL_INTERVAL", default=15)

# --- Delivery statuses BSG pushes (campaigns.engine.delivery_reports) -------------------------
# This app's address as BSG reaches it from the internet, e.g. https://campaigns.example.com.
# Set, SMS sends carry a callback URL under it and BSG pushes each message's status there; empty,
# statuses are only polled. The whole URL must fit BSG's 100 characters (a system check says).
BSG_CALLBACK_BASE_URL = env.str("BSG_CALLBACK_BASE_URL", default="")
# The secret in the callback's path (BSG cannot sign its calls). Empty: derived from SECRET_KEY.
BSG_CALLBACK_SECRET = env.str("BSG_CALLBACK_SECRET", default="")
# A part whose recipients still wait for a status and for which nothing was pushed for this many
# seconds has its messages read again (E9), as if nothing were pushed: lost pushes cost a delay.
BSG_CALLBACK_QUIET_SECONDS = env.int("BSG_CALLBACK_QUIET_SECONDS", default=600)
# The largest callback body taken, in bytes (a batch of statuses is a few hundred bytes each).
BSG_CALLBACK_MAX_BYTES = env.int("BSG_CALLBACK_MAX_BYTES", default=1_048_576)
# Days a pushed status is kept (admin shows it) once applied to the ledger.
DELIVERY_REPORTS_KEEP_DAYS = env.int("DELIVERY_REPORTS_KEEP_DAYS", default=7)
# Seconds between two sweeps that apply pushed statuses a lost or late trigger left behind.
DELIVERY_REPORTS_SWEEP_INTERVAL = env.int("DELIVERY_REPORTS_SWEEP_INTERVAL", default=60)

# --- Campaign engine --------------------------------------------------------------------------
# A send that timed out may still be processed by BSG a moment later: "none of its messages at
# BSG" only counts this many seconds after the attempt (longer than the read timeout).
ENGINE_RECONCILE_GRACE = env.float("ENGINE_RECONCILE_GRACE", default=BSG_READ_TIMEOUT + 30)
# Attempts at submitting one part before it needs a person (503s, refused connections...).
ENGINE_SUBMIT_MAX_ATTEMPTS = env.int("ENGINE_SUBMIT_MAX_ATTEMPTS", default=6)
# Failed lookups while reconciling one part before it needs a person.
ENGINE_RECONCILE_MAX_TRIES = env.int("ENGINE_RECONCILE_MAX_TRIES", default=10)
# Backoff between submit attempts: base seconds, doubled each time with jitter, capped.
# A dispatch whose heartbeat (one per ledger batch) is this old was left by a lost worker; it
# is taken again, at most ENGINE_DISPATCH_MAX_ATTEMPTS times in all.
ENGINE_STUCK_DISPATCH = env.float("ENGINE_STUCK_DISPATCH", default=300)
ENGINE_DISPATCH_MAX_ATTEMPTS = env.int("ENGINE_DISPATCH_MAX_ATTEMPTS", default=3)
# How long one dispatch (resolving a campaign's whole audience into the ledger) may run, in
# seconds. A lost worker is found by the heartbeat above, not by this: it only has to be longer
# than the biggest audience takes, ten million recipients on the slowest machine (BENCHMARKS.md,
# "Ten million contacts": 40-50 s a million on a busy 2-core one).
ENGINE_DISPATCH_TIME_LIMIT = env.int("ENGINE_DISPATCH_TIME_LIMIT", default=1800)
# Polls that may fail to read an ended part's breakdown (E8) before the part finishes without it.
ENGINE_DETAIL_MAX_TRIES = env.int("ENGINE_DETAIL_MAX_TRIES", default=10)
ENGINE_BACKOFF_BASE = env.float("ENGINE_BACKOFF_BASE", default=5.0)
ENGINE_BACKOFF_MAX = env.float("ENGINE_BACKOFF_MAX", default=300.0)
# A part left "submitting" this long had its worker die mid-request: it becomes unconfirmed.
ENGINE_STUCK_SUBMITTING = env.float(
    "ENGINE_STUCK_SUBMITTING", default=BSG_CONNECT_TIMEOUT + BSG_READ_TIMEOUT + 60
)
# Seconds between two sweeps for due campaigns and parts (the database is the truth).
ENGINE_SWEEP_INTERVAL = env.int("ENGINE_SWEEP_INTERVAL", default=15)
# Guard rails: a sending campaign holds its unsubmitted parts when more than this share of its
# messages with a final status failed, once at least ENGINE_HOLD_MIN_FINAL have one.
ENGINE_HOLD_FAILURE_RATE = env.float("ENGINE_HOLD_FAILURE_RATE", default=0.2)
ENGINE_HOLD_MIN_FINAL = env.int("ENGINE_HOLD_MIN_FINAL", default=50)
# Hold before a part the BSG balance (E11, plus credit) cannot cover.
ENGINE_HOLD_ON_LOW_BALANCE = env.bool("ENGINE_HOLD_ON_LOW_BALANCE", default=True)
# "Add repeated failures to do-not-contact" takes recipients who failed in this many campaigns.
ENGINE_DNC_AFTER_FAILURES = env.int("ENGINE_DNC_AFTER_FAILURES", default=3)
# Campaigns on the BSG account not created here: how far back to look (E5), and how often.
ENGINE_DISCOVER_DAYS = env.int("ENGINE_DISCOVER_DAYS", default=7)
ENGINE_DISCOVER_INTERVAL = env.int("ENGINE_DISCOVER_INTERVAL", default=300)
# Periodic tasks; django-celery-beat's DatabaseScheduler copies them into its tables, where
# admins can pause or retime them.
CELERY_BEAT_SCHEDULE = {
    "engine-poll": {"task": "campaigns.tasks.engine_poll", "schedule": float(BSG_POLL_INTERVAL)},
    "engine-sweep": {
        "task": "campaigns.tasks.engine_sweep",
        "schedule": float(ENGINE_SWEEP_INTERVAL),
    },
    "engine-discover": {
        "task": "campaigns.tasks.bsg_campaigns_discover",
        "schedule": float(ENGINE_DISCOVER_INTERVAL),
    },
    "delivery-reports-apply": {
        "task": "campaigns.tasks.delivery_reports_apply",
        "schedule": float(DELIVERY_REPORTS_SWEEP_INTERVAL),
    },
    "contacts-import-sweep": {
        "task": "contacts.tasks.contact_imports_sweep_task",
        "schedule": float(CONTACTS_IMPORT_SWEEP_INTERVAL),
    },
    # Each import queues it when it commits; this is for a run that was lost.
    "contacts-search-catch-up": {
        "task": "contacts.tasks.contacts_search_catch_up_task",
        "schedule": 60.0,
    },
}

# --- Client addresses (audit log and login throttling) ---------------------------------------
# Reverse proxies in front of the app that append to X-Forwarded-For. 0 trusts only REMOTE_ADDR
# (the header is then whatever the client wrote); n takes the address n entries from its right.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes says INFO on every login; lockouts, the part worth reading, are WARNING.
        "axes": {"level": "WARNING"},
    },
}
