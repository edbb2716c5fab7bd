"""Sign-in, sessions and saved views (newsdesk/accounts/)."""

from __future__ import annotations

from config.env import env_int

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "dashboard"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's model backend behind a failed-login throttle (per IP and per account),
# so admin's login form is throttled too. See newsdesk/accounts/throttle.py.
AUTHENTICATION_BACKENDS = ["newsdesk.accounts.throttle.ThrottledModelBackend"]
# Failures allowed per (account, client address), per client address, and per account from
# all addresses together (the high global cap; `manage.py unlock_login` lifts it).
NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL = env_int("NEWSDESK_LOGIN_MAX_FAILURES_PER_ACCOUNT_ALL", 100)
NEWSDESK_LOGIN_MAX_FAILURES_PER_IP = env_int("NEWSDESK_LOGIN_MAX_FAILURES_PER_IP", 20)
NEWSDESK_LOGIN_LOCKOUT_SECONDS = env_int("NEWSDESK_LOGIN_LOCKOUT_SECONDS", 900)
# Reverse proxies in front of gunicorn that append to X-Forwarded-For; 0 trusts REMOTE_ADDR only.
NEWSDESK_TRUSTED_PROXY_COUNT = env_int("NEWSDESK_TRUSTED_PROXY_COUNT", 0)
# A signed-in session lasts this long (12 hours: a working day, not a fortnight).
SESSION_COOKIE_AGE = env_int("NEWSDESK_SESSION_SECONDS", 12 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Saved views ("desks"): per editor, and the cap of the "N new" badge ("99+").
NEWSDESK_MAX_SAVED_VIEWS = env_int("NEWSDESK_MAX_SAVED_VIEWS", 50)
NEWSDESK_NEW_COUNT_CAP = env_int("NEWSDESK_NEW_COUNT_CAP", 99)
# Seconds a saved view's "N new" badge is cached (0 = always count afresh).
NEWSDESK_NEW_COUNT_CACHE_SECONDS = env_int("NEWSDESK_NEW_COUNT_CACHE_SECONDS", 30)
