"""Country names and flag emoji for ISO 3166-1 alpha-2 codes.

Shared below the stages: drop files name countries (ingest), the web shows them."""

from __future__ import annotations

COUNTRY_NAMES: dict[str, str] = {
    "AR": "Argentina",
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BO": "Bolivia",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CL": "Chile",
    "CN": "China",
    "CO": "Colombia",
    "CR": "Costa Rica",
    "CU": "Cuba",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "DO": "Dominican Republic",
    "EC": "Ecuador",
    "EG": "Egypt",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "GT": "Guatemala",
    "HK": "Hong Kong",
    "HN": "Honduras",
    "HU": "Hungary",
    "ID": "Indonesia",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IR": "Iran",
    "IT": "Italy",
    "JP": "Japan",
    "KE": "Kenya",
    "KR": "South Korea",
    "MA": "Morocco",
    "MX": "Mexico",
    "MY": "Malaysia",
    "NG": "Nigeria",
    "NI": "Nicaragua",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PA": "Panama",
    "PE": "Peru",
    "PH": "Philippines",
    "PK": "Pakistan",
    "PL": "Poland",
    "PR": "Puerto Rico",
    "PT": "Portugal",
    "PY": "Paraguay",
    "QA": "Qatar",
    "RO": "Romania",
    "RU": "Russia",
    "SA": "Saudi Arabia",
    "SE": "Sweden",
    "SG": "Singapore",
    "SV": "El Salvador",
    "TH": "Thailand",
    "TR": "Turkey",
    "TW": "Taiwan",
    "UA": "Ukraine",
    "AE": "United Arab Emirates",
    "US": "United States",
    "UY": "Uruguay",
    "VE": "Venezuela",
    "VN": "Vietnam",
    "ZA": "South Africa",
}
NAME_TO_CODE: dict[str, str] = {name.lower(): code for code, name in COUNTRY_NAMES.items()}
NAME_TO_CODE.update({"usa": "US", "u.s.": "US", "uk": "GB", "méxico": "MX", "españa": "ES", "brasil": "BR"})


def flag(code: str) -> str:
    """Regional-indicator flag emoji for a two-letter code ('' if invalid)."""
    code = (code or "").upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


def code_from_flag(emoji: str) -> str:
    """Inverse of ``flag``: '🇲🇽' -> 'MX' ('' if not a flag)."""
    letters = [chr(ord(c) - 0x1F1E6 + ord("A")) for c in emoji if 0x1F1E6 <= ord(c) <= 0x1F1FF]
    return "".join(letters) if len(letters) == 2 else ""


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get((code or "").upper(), (code or "").upper())
