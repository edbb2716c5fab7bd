"""The sign-in form, refusing throttled attempts before the password is checked."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from .throttle import login_throttled


class ThrottledAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "throttled": "Too many failed sign-ins. Try again in %(minutes)s minutes.",
    }

    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if login_throttled(username=username, request=self.request):
            self.throttled = True
            minutes = max(1, settings.NEWSDESK_LOGIN_LOCKOUT_SECONDS // 60)
            raise ValidationError(self.error_messages["throttled"], code="throttled", params={"minutes": minutes})
        return super().clean()
