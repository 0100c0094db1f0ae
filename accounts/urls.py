from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("language/", views.language_switch, name="language"),
    path("settings/", views.account_settings, name="settings"),
    path("signed-in/", views.signed_in, name="signed-in"),
]
