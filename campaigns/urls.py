from django.urls import path

from . import views

app_name = "campaigns"

urlpatterns = [
    path("", views.home, name="home"),
    path("bsg/account/", views.bsg_account_panel, name="bsg-account"),
]
