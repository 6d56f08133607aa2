"""Benchmarks that share one report file each write their own section of it."""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, heading: str, section: str, title: str) -> None:
    """Write `section` (which starts with `heading`) into the Markdown file `doc` in place of the section under
    that heading (up to the next `## `), or at its end; the other sections stay. A new file starts with `title`."""
    old = doc.read_text() if doc.exists() else title + "\n"
    start = old.find(heading)
    section = section.rstrip("\n") + "\n"
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + section
    else:
        nxt = old.find("\n## ", start + len(heading))
        new = old[:start] + section + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
    doc.write_text(new)
