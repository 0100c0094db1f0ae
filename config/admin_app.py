"""django.contrib.admin, on our site (config/admin_site.py). Its own module: INSTALLED_APPS imports
it before any model can be."""

from django.contrib.admin.apps import AdminConfig


class BsgAdminConfig(AdminConfig):
    default_site = "config.admin_site.BsgAdminSite"
