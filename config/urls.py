from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from config.login import LoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    # Before django.contrib.auth.urls, whose "login" it replaces with a bounded user name.
    path("accounts/login/", LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("contacts/", include("contacts.urls")),
    path("", include("campaigns.urls")),
]
