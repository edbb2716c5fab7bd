from django.contrib import admin
from django.urls import include, path

from newsdesk.api.urls import api
from newsdesk.ops.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("", include("newsdesk.accounts.urls")),
    path("", include("newsdesk.alerts.urls")),
    path("", include("newsdesk.web.urls")),
]
