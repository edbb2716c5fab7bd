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
  ``web`` (dashboard and feeds), ``accounts``, ``ops``.

Code reads every value as ``django.conf.settings.NEWSDESK_*``, so tests can
override any of them with pytest-django's ``settings`` fixture. A new
setting goes into the module of the stage that reads it.
"""

# Each part imports what it needs from the others explicitly; names never overlap.
from config.settings.accounts import *  # noqa: F403
from config.settings.core import *  # noqa: F403
from config.settings.coverage import *  # noqa: F403
from config.settings.drops import *  # noqa: F403
from config.settings.enrich import *  # noqa: F403
from config.settings.ingest import *  # noqa: F403
from config.settings.ops import *  # noqa: F403
from config.settings.queues import *  # noqa: F403
from config.settings.services import *  # noqa: F403
from config.settings.web import *  # noqa: F403
