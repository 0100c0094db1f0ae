"""Production settings: everything in `config.settings`, hardened. No secret has a default here."""

from .settings import *  # noqa: F403
from .settings import env

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")
BSG_API_KEY = env.str("BSG_API_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")

# Hand-off emails through SMTP (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS / EMAIL_USE_SSL, EMAIL_TIMEOUT and DEFAULT_FROM_EMAIL, read by config.settings);
# links in them point at the first allowed host unless SITE_URL says otherwise.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
SITE_URL = env.str("SITE_URL", default=f"https://{ALLOWED_HOSTS[0]}")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

# Keep database connections between requests: opening a PostgreSQL backend costs the web
# process 1.5-3 ms of CPU a request (bench/web_load.py). The health check drops a connection
# the database closed (restart, failover) before a request uses it, instead of failing it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
# The session is read on every request: from the cache (Redis) first, the database behind it.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# The campaigns list, the page opened most, is shared for 2 s: a reload may be that much behind
# (its live rows refresh themselves anyway), and its rows cost ~5 ms of CPU to render.
CAMPAIGN_LIST_CACHE_SECONDS = env.int("CAMPAIGN_LIST_CACHE_SECONDS", default=2)
# The detail page's parts panel, kept under a fingerprint of its data (campaigns.views.dashboard).
CAMPAIGN_PARTS_CACHE_SECONDS = env.int("CAMPAIGN_PARTS_CACHE_SECONDS", default=300)

# `manage.py collectstatic` writes STATIC_ROOT with a gzip and a Brotli copy of each file, and
# WhiteNoise (config.settings' MIDDLEWARE) serves them from gunicorn, so pages have their CSS and
# htmx without a proxy serving /static/.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
