"""Django system checks for translation settings: found at start, not at the first article.

``manage.py check`` (and every ``runserver``, ``migrate`` and worker start)
reports a provider that can never work: an unknown name in
NEWSDESK_TRANSLATORS, a keyed provider without its key or URL, or a
per-provider rate or budget that is not a number.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility, deploy=False)
def translation_settings_check(app_configs=None, **kwargs) -> list:
    # Imported when the check runs, not when it is registered (apps.ready, in
    # every process): the providers bring the translation clients, which beat
    # never needs (config/celery.py).
    from .providers import REGISTRY
    from .status import provider_config_problem, translation_chain

    errors: list = []
    chain = translation_chain()
    if not chain:
        errors.append(
            Warning(
                "NEWSDESK_TRANSLATORS is empty: nothing will be translated.",
                hint=f"Set it to one or more of: {', '.join(sorted(REGISTRY))} (README, 'Translation providers').",
                id="newsdesk.W001",
            )
        )
    for name in chain:
        problem = provider_config_problem(name=name)
        if problem:
            errors.append(
                Error(
                    f"NEWSDESK_TRANSLATORS: {problem}.",
                    hint="Fix the setting or remove the provider from NEWSDESK_TRANSLATORS "
                    "(README, 'Translation providers').",
                    id="newsdesk.E001",
                )
            )
    from lingua import IsoCode639_1

    from newsdesk.languages import language_code_normalise

    unknown = [
        code
        for code in settings.NEWSDESK_LANGUAGES
        if not hasattr(IsoCode639_1, language_code_normalise(code=code).upper() or "-")
    ]
    if unknown:
        errors.append(
            Warning(
                f"NEWSDESK_LANGUAGES: the detector does not know {', '.join(map(repr, unknown))}; "
                "articles are never detected as these languages.",
                hint="Use ISO 639-1 codes, for example es,pt,fr.",
                id="newsdesk.W002",
            )
        )
    for setting in ("NEWSDESK_TRANSLATION_RATES", "NEWSDESK_TRANSLATION_DAILY_CHARS"):
        raw = getattr(settings, setting, "")
        for part in filter(None, (p.strip() for p in str(raw).split(","))):
            name, _, value = part.partition("=")
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not name.strip() or number < 0:
                errors.append(
                    Error(
                        f"{setting}: {part!r} is not provider=number.",
                        hint="For example google=4,deepl=10.",
                        id="newsdesk.E002",
                    )
                )
    return errors
