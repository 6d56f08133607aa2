"""The languages the service speaks, and numbers and dates written the way each writes them: Bahasa
Indonesia `1.350,51` and `30 November 2026`, English `1,350.51` and `30 November 2026`. The web map's script
does the same with Intl.NumberFormat / toLocaleDateString and the locales below."""

from __future__ import annotations

import math
import re
from datetime import date, datetime

LANGS = ("id", "en")
DEFAULT_LANG = "id"
LOCALES = {"id": "id-ID", "en": "en-GB"}  # BCP 47 tags for Intl in the browser
_SEPARATORS = {"id": (".", ","), "en": (",", ".")}  # (thousands, decimal)
_MONTHS = {
    "id": ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
           "November", "Desember"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def lang_of(value: object) -> str:
    """A supported language from a ?lang= value or an Accept-Language tag ("en-GB" -> "en"); else Bahasa."""
    tag = str(value or "").split(",")[0].split("-")[0].strip().lower()
    return tag if tag in LANGS else DEFAULT_LANG


def format_number(value: float, lang: str, decimals: int | None = None, max_decimals: int = 2) -> str:
    """`value` with the language's thousands and decimal marks: exactly `decimals` digits after the mark, or up
    to `max_decimals` with trailing zeros dropped (as Intl.NumberFormat's maximumFractionDigits)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    thousands, decimal = _SEPARATORS[lang_of(lang)]
    digits = max_decimals if decimals is None else decimals
    text = f"{abs(value):,.{digits}f}"
    if decimals is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.strip("0,.") == "":  # -0.001 rounds to 0: no minus sign
        value = 0
    text = text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)
    return ("-" if value < 0 else "") + text


def format_date(value: date | str, lang: str) -> str:
    """A day as `30 November 2026` with the language's month names; ISO strings (`2026-11-30`) are accepted."""
    if isinstance(value, str):
        m = _ISO_DATE.match(value)
        if not m:
            raise ValueError(f"not an ISO date: {value!r}")
        value = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return f"{value.day} {_MONTHS[lang_of(lang)][value.month - 1]} {value.year}"


def format_datetime(value: datetime | str, lang: str) -> str:
    """A moment as `30 November 2026 14:05` (its own clock time; the offset is not shown)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return f"{format_date(value.date(), lang)} {value:%H:%M}"


def format_value(value: object, lang: str, max_decimals: int = 6) -> str | None:
    """A fraction, an ISO date or an ISO date-time in the language's way; None for anything else (shown as is).
    Integers stay as written: they are often identifiers or codes."""
    if isinstance(value, float) and math.isfinite(value):
        return format_number(value, lang, max_decimals=max_decimals)
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            try:
                return format_date(value, lang)
            except ValueError:  # 2026-13-45 is not a date: shown as written
                return None
        if _ISO_DATETIME.match(value):
            try:
                return format_datetime(value, lang)
            except ValueError:
                return None
    return None
