from django.urls import path

from . import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/add/", views.alert_add, name="alert-add"),
    path("alerts/<int:pk>/secret/", views.alert_secret, name="alert-secret"),
    path("alerts/<int:pk>/toggle/", views.alert_toggle, name="alert-toggle"),
    path("alerts/<int:pk>/delete/", views.alert_remove, name="alert-delete"),
]
