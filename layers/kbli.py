"""The KBLI 2020 business classification (layers/reference/kbli2020.csv, see SOURCES.md there): titles (English
ones where the list has them), the
group hierarchy used by the ITBX fallback (10750 -> 1075 -> 107 -> 10), and a search for the map's search box."""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "reference" / "kbli2020.csv"
_CODE = re.compile(r"^\d{2,5}$")


@lru_cache(maxsize=1)
def load() -> dict[str, str]:
    """KBLI code (or category letter) -> title in Bahasa Indonesia."""
    with open(DATA, encoding="utf-8", newline="") as f:
        return {row["kode"].strip(): row["judul"].strip() for row in csv.DictReader(f)}


@lru_cache(maxsize=1)
def load_en() -> dict[str, str]:
    """KBLI code -> English title, for the codes the list has one for (see SOURCES.md); others have none."""
    with open(DATA, encoding="utf-8", newline="") as f:
        return {row["kode"].strip(): row["judul_en"].strip() for row in csv.DictReader(f)
                if (row.get("judul_en") or "").strip()}


def is_kbli(code) -> bool:
    """True for a KBLI code of 2 to 5 digits (a golongan pokok down to a kelompok)."""
    return isinstance(code, str) and bool(_CODE.match(code))


def title(code: str) -> str | None:
    return load().get(str(code).strip().upper())


def title_en(code: str) -> str | None:
    return load_en().get(str(code).strip().upper())


def groups(code: str) -> list[str]:
    """The code and its parent groups, most specific first: "10750" -> ["10750", "1075", "107", "10"]."""
    code = str(code).strip()
    if not is_kbli(code):
        return []
    return [code[:n] for n in range(len(code), 1, -1)]


def _words(text: str) -> list[str]:
    return re.findall(r"[0-9a-z]+", text.casefold())


def search(query: str, limit: int = 20) -> list[dict]:
    """Codes starting with the query's digits, or titles in which every query word starts a word (any case);
    categories last, then by code."""
    query = str(query or "").strip()
    if not query:
        return []
    items = load()
    if query.isdigit():
        found = [k for k in items if k.startswith(query)]
    elif query.upper() in items:  # a category letter
        found = [query.upper()]
    else:
        wanted = _words(query)
        found = [k for k, t in items.items()
                 if wanted and all(any(w.startswith(q) for w in _words(t)) for q in wanted)]
    found.sort(key=lambda k: (k != query.upper(), k.isalpha(), k))  # an exact code first
    return [{"kode": k, "judul": items[k], "judul_en": title_en(k)} for k in found[:limit]]
