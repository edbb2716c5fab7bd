from django.apps import AppConfig


class NewsdeskConfig(AppConfig):
    name = "newsdesk"
    verbose_name = "Newsdesk"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from newsdesk.models.search_schema import search_schema_post_migrate

        # SQLite table rebuilds drop the FTS5 sync triggers; put them back.
        post_migrate.connect(search_schema_post_migrate, sender=self, dispatch_uid="newsdesk-search-schema")

        # Feeds' 304s trust a version that every model write bumps (newsdesk/changes.py).
        from newsdesk.changes import signals_connect
        from newsdesk.web.feeds.items import SOURCE_FEED_FIELDS

        signals_connect(source_fields=SOURCE_FEED_FIELDS)
        # WebSub subscribers get a change pushed within a second of its commit, not at beat's next tick.
        from newsdesk.changes import on_committed_change
        from newsdesk.websub.hub import websub_publish_soon

        on_committed_change(websub_publish_soon)
        # The live dashboard's per-session passes are void once a reader's right may have changed.
        from newsdesk.accounts.livepass import signals_connect as live_pass_signals_connect

        live_pass_signals_connect()

        # System checks: a translation setting that can never work is found at start.
        # Failed-login counting listens to auth signals from every login form, admin's included.
        import newsdesk.accounts.throttle
        import newsdesk.enrich.checks
        import newsdesk.ingest.checks  # noqa: F401
