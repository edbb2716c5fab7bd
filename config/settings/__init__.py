"""Django settings for Newsdesk, grouped by the part of the system they steer.

Everything that differs between machines comes from environment variables,
each documented in the README ("Settings"). The defaults give a working
single-machine install (SQLite under ``var/`` and a Redis on loopback) for
development; a production install (``DEBUG=false``) must set a real
``SECRET_KEY``, ``DATABASE_URL`` and ``REDIS_URL``, and refuses to start
without them.

Where a setting lives:

- ``core``: Django itself, security headers, auth, logging;
- ``services``: the database and Redis (broker and cache);
- ``queues``: Celery (limits, queues, routes, beat);
- one module per stage, in the order data flows: ``ingest`` (fetch, poll
  scheduling), ``drops``, ``enrich`` (language, translation), ``coverage``,
  ``web`` (dashboard and feeds), ``accounts``, ``delivery`` (alerts, e-mail,
  pushes), ``api``, ``ops``.

A git-ignored ``.env`` at the project root (``make run`` writes one with
``DEBUG=true`` and a generated secret; see ``config/dotenv.py``) fills in
variables the environment does not set.

Code reads every value as ``django.conf.settings.NEWSDESK_*``, so tests can
override any of them with pytest-django's ``settings`` fixture. A new
setting goes into the module of the stage that reads it.
"""

# The local .env (written by `make run`) first: every part reads the environment.
from config.dotenv import dotenv_load

dotenv_load()

# Each part imports what it needs from the others explicitly; names never overlap.
from config.settings.accounts import *  # noqa: E402, F403
from config.settings.api import *  # noqa: E402, F403
from config.settings.core import *  # noqa: E402, F403
from config.settings.coverage import *  # noqa: E402, F403
from config.settings.delivery import *  # noqa: E402, F403
from config.settings.drops import *  # noqa: E402, F403
from config.settings.enrich import *  # noqa: E402, F403
from config.settings.ingest import *  # noqa: E402, F403
from config.settings.ops import *  # noqa: E402, F403
from config.settings.queues import *  # noqa: E402, F403
from config.settings.services import *  # noqa: E402, F403
from config.settings.web import *  # noqa: E402, F403
