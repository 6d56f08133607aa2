"""Placing area names on a printed map without overlaps: larger areas first; a name that would touch one placed
before (or leave the frame) is tried smaller, then left out. A left-out name is better than two unreadable ones."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gis.render.print_layout import Box

LABEL_SIZES = (7.0, 6.0, 5.0)  # points
LABEL_PAD = 2.0  # points kept clear between names


@dataclass(frozen=True)
class LabelCandidate:
    text: str
    x: float  # anchor (the name's centre) on the page, points
    y: float
    priority: float  # higher is placed first (the area's size)
    muted: bool = False  # a neighbour of the area printed, drawn grey


@dataclass(frozen=True)
class PlacedLabel:
    text: str
    x: float
    y: float
    size: float
    box: Box
    muted: bool = False


def place_labels(candidates: Iterable[LabelCandidate], measure: Callable[[str, float], tuple[float, float]],
                 frame: Box, keep_clear: Iterable[Box] = (),
                 sizes: tuple[float, ...] = LABEL_SIZES) -> tuple[list[PlacedLabel], list[str]]:
    """(placed, dropped): each candidate at the largest of `sizes` whose box (`measure(text, size)` -> width,
    height in points, centred on the anchor) lies inside `frame` and clear of `keep_clear` and of every name
    placed before; else dropped."""
    placed: list[PlacedLabel] = []
    dropped: list[str] = []
    blocked = list(keep_clear)
    for cand in sorted(candidates, key=lambda c: -c.priority):
        for size in sizes:
            w, h = measure(cand.text, size)
            box = Box(cand.x - w / 2, cand.y - h / 2, cand.x + w / 2, cand.y + h / 2)
            if frame.contains(box) and not any(box.intersects(b, LABEL_PAD) for b in blocked):
                placed.append(PlacedLabel(cand.text, cand.x, cand.y, size, box, cand.muted))
                blocked.append(box)
                break
        else:
            dropped.append(cand.text)
    return placed, dropped
