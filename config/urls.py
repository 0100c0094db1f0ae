from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from config.login import LoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before django.contrib.auth.urls, whose "login" it replaces with a bounded user name.
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # The translations static/js/*.js read (gettext, ngettext): script from our own origin,
    # which the Content-Security-Policy allows. The words of the interface, nothing private.
    path(
        "jsi18n/",
        login_not_required(JavaScriptCatalog.as_view()),
        name="javascript-catalog",
    ),
    path("contacts/", include("contacts.urls")),
    path("", include("campaigns.urls")),
]
