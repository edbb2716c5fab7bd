from django.contrib import admin
from django.urls import include, path

from newsdesk.api.urls import api
from newsdesk.ops.metrics import metrics_view
from newsdesk.websub.views import websub_callback, websub_hub

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("websub/hub/", websub_hub, name="websub-hub"),
    path("websub/callback/<str:token>/", websub_callback, name="websub-callback"),
    path("", include("newsdesk.accounts.urls")),
    path("", include("newsdesk.alerts.urls")),
    path("", include("newsdesk.web.urls")),
]
