"""Country and place names in many languages, from the Unicode CLDR data Babel ships.

Below the stages: any stage may ask which country a name such as "México",
"Мексика", "墨西哥" or "Ciudad de México" refers to. Nothing here is
fetched at run time; the data is Babel's packaged copy of CLDR.

Countries are CLDR's territory names; places are CLDR's exemplar cities of
the time zones (about 450 cities: capitals and other large cities, named in
each locale), each mapped to its zone's country.
"""

from __future__ import annotations

import functools
import re

from babel import Locale
from babel.core import get_global

# The languages a desk most often receives, and those whose scripts differ.
PLACE_LOCALES = (
    "en", "es", "pt", "fr", "de", "it", "nl", "pl", "ru", "uk", "tr", "ar", "fa", "he", "hi",
    "zh", "ja", "ko", "id", "vi", "th", "sv", "da", "nb", "fi", "cs", "ro", "hu", "el", "bg",
)  # fmt: skip

_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
# Codes CLDR lists as territories that are not countries (EU, the UN, "unknown region", ...).
_NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


def _city_of_zone(zone: str) -> str:
    """The English exemplar city a zone id encodes: ``America/Mexico_City`` -> ``Mexico City``."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _zone_cities() -> dict[str, str]:
    """Country zones -> the city their id spells, where English names the city no other way.

    The id is CLDR's shorthand: where English CLDR writes the zone's city out
    ("Christmas Island" for ``Indian/Christmas``, "Easter Island", "Petersburg,
    Indiana", "Center, North Dakota"), that is its name (added with the
    locales'), and the id's word alone ("Christmas", "Petersburg", "Center") is
    a holiday, a town's shorthand or a common word, not a place.
    """
    english = Locale.parse("en").time_zones
    zones: dict[str, str] = get_global("zone_territories")
    return {
        zone: _city_of_zone(zone)
        for zone, code in zones.items()
        if _COUNTRY_CODE.fullmatch(code)
        and code not in _NOT_COUNTRIES
        and "/" in zone
        and not (english.get(zone) or {}).get("city")
    }


@functools.cache
def place_names(locales: tuple[str, ...] = PLACE_LOCALES) -> dict[str, frozenset[str]]:
    """Every country and city name in ``locales`` -> the ISO 3166 country codes it may name.

    Names are as CLDR writes them (not folded). A name that means different
    countries in different languages keeps all of them.
    """
    out: dict[str, set[str]] = {}

    def add(name: str, code: str) -> None:
        name = name.strip()
        if name:
            out.setdefault(name, set()).add(code)

    zones: dict[str, str] = get_global("zone_territories")
    for zone, city in _zone_cities().items():
        add(city, zones[zone])
    for ident in locales:
        locale = Locale.parse(ident)
        for code, name in locale.territories.items():
            if _COUNTRY_CODE.fullmatch(code) and code not in _NOT_COUNTRIES:
                add(name, code)
        for zone, names in locale.time_zones.items():
            code = zones.get(zone, "")
            city = names.get("city")
            if city and _COUNTRY_CODE.fullmatch(code) and code not in _NOT_COUNTRIES:
                add(city, code)
    return {name: frozenset(codes) for name, codes in out.items()}


def city_names(locales: tuple[str, ...] = PLACE_LOCALES) -> dict[str, frozenset[str]]:
    """Every city name in ``locales`` -> the time-zone ids whose exemplar city it is (``Asia/Tomsk``).

    A city, unlike its country, tells two places of one country apart. Names
    that are also a country's (Singapore, Gibraltar) are left out: they say
    the country, which :func:`place_names` holds. Not cached: its one caller
    (the particulars' city index) keeps only what it needs.
    """
    countries = {name for name, _ in _territory_names(locales)}
    out: dict[str, set[str]] = {}
    zones: dict[str, str] = get_global("zone_territories")
    for zone, city in _zone_cities().items():
        out.setdefault(city, set()).add(zone)
    for ident in locales:
        for zone, names in Locale.parse(ident).time_zones.items():
            code = zones.get(zone, "")
            city = (names.get("city") or "").strip()
            if city and _COUNTRY_CODE.fullmatch(code) and code not in _NOT_COUNTRIES:
                out.setdefault(city, set()).add(zone)
    return {name: frozenset(z) for name, z in out.items() if name not in countries}


def _territory_names(locales: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for ident in locales:
        for code, name in Locale.parse(ident).territories.items():
            if _COUNTRY_CODE.fullmatch(code) and code not in _NOT_COUNTRIES:
                out.append((name.strip(), code))
    return out


@functools.cache
def month_names(locales: tuple[str, ...] = PLACE_LOCALES) -> dict[str, int]:
    """Wide and abbreviated month names in ``locales`` -> month number (1-12), as CLDR writes them.

    A name two languages give different months (rare) is left out.
    """
    seen: dict[str, set[int]] = {}
    for ident in locales:
        locale = Locale.parse(ident)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    seen.setdefault(name.strip().rstrip("."), set()).add(int(number))
    return {name: next(iter(nums)) for name, nums in seen.items() if name and len(nums) == 1}
