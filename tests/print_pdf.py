"""Reading printed maps back the way a person would: poppler's pdfinfo (page sizes), pdftotext (the text layer,
with word boxes) and pdftoppm (the pages as pixels, kept in tests/artifacts/ to look at)."""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
WORD_RE = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')
PAGE_RE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">')


@dataclass(frozen=True)
class Word:
    text: str
    x0: float  # points, origin bottom-left (as the layout's boxes)
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120).stdout


def page_sizes(pdf: Path) -> list[tuple[int, int]]:
    """Each page's (width, height) in points, rounded."""
    out = run("pdfinfo", "-f", "1", "-l", "9999", str(pdf))
    return [(round(float(w)), round(float(h))) for w, h in
            re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def page_count(pdf: Path) -> int:
    return int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf))).group(1))


def text_of(pdf: Path, page: int = 1, crop: tuple[float, float, float, float] | None = None,
            height: float | None = None) -> str:
    """The page's text; `crop` (x0, y0, x1, y1 in points, origin bottom-left, with the page `height`) keeps
    one region."""
    args = ["pdftotext", "-f", str(page), "-l", str(page)]
    if crop:
        x0, y0, x1, y1 = crop
        args += ["-r", "72", "-x", str(int(x0)), "-y", str(int(height - y1)), "-W", str(int(x1 - x0) + 1),
                 "-H", str(int(y1 - y0) + 1)]
    return run(*args, str(pdf), "-")


def words_of(pdf: Path, page: int = 1) -> list[Word]:
    out = run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-")
    height = float(PAGE_RE.search(out).group(2))
    return [Word(html.unescape(t), float(a), height - float(d), float(c), height - float(b))
            for a, b, c, d, t in WORD_RE.findall(out)]


def raster(pdf: Path, name: str, dpi: int = 150, page: int = 1) -> np.ndarray:
    """The page as RGB pixels at `dpi`; also kept as tests/artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / name
    run("pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png", "-singlefile", str(pdf), str(stem))
    return np.asarray(Image.open(f"{stem}.png").convert("RGB")).astype(int)


def longest_dark_run(img: np.ndarray, box_px: tuple[int, int, int, int], level: int = 80) -> int:
    """The longest horizontal run of dark pixels in any row of the region (x0, y0, x1, y1, image rows top-down)."""
    x0, y0, x1, y1 = box_px
    dark = (img[y0:y1, x0:x1] < level).all(axis=-1)
    best = 0
    for row in dark:
        run_len = 0
        for v in row:
            run_len = run_len + 1 if v else 0
            best = max(best, run_len)
    return best
