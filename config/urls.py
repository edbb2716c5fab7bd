from django.contrib import admin
from django.urls import include, path

from newsdesk.ops.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("", include("newsdesk.accounts.urls")),
    path("", include("newsdesk.web.urls")),
]
