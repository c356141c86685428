"""Paragraphs of a stored page: its lines, in reading order, grouped (TEMPORARY: one per line
until the shared grouping lands)."""

from __future__ import annotations

from typing import Any


def paragraphs_of(record: dict[str, Any]) -> list[list[int]]:
    """The page's paragraphs as lists of line indices, in reading order."""
    return [[i] for i in range(len(record["lines"]))]
