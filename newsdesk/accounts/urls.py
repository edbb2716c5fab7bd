from django.contrib.auth import views as auth_views
from django.urls import path

from . import views
from .feeds import TOKEN_FEED_ROUTES

urlpatterns = [
    path("accounts/login/", views.login, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("desks/", views.desk_list, name="desk-list"),
    path("desks/save/", views.desk_save, name="desk-save"),
    path("desks/<int:pk>/open/", views.desk_open, name="desk-open"),
    path("desks/<int:pk>/rename/", views.desk_rename, name="desk-rename"),
    path("desks/<int:pk>/move/", views.desk_move, name="desk-move"),
    path("desks/<int:pk>/delete/", views.desk_delete, name="desk-delete"),
    path("desks/<int:pk>/token/", views.desk_token_rotate, name="desk-token-rotate"),
    path("desks/<int:pk>/token/revoke/", views.desk_token_revoke, name="desk-token-revoke"),
    path("account/api-tokens/", views.api_token_list, name="api-token-list"),
    path("account/api-tokens/add/", views.api_token_add, name="api-token-add"),
    path("account/api-tokens/<int:pk>/revoke/", views.api_token_remove, name="api-token-revoke"),
    *(
        path(f"feeds/private/<str:token>/{name.rsplit('-', 1)[1]}/", feed(), name=name)
        for _, name, feed in TOKEN_FEED_ROUTES
    ),
]
