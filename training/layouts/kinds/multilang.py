"""``multilang``: another kind's structure (any but ``multilang``) with its text in a language
other than English (the caller's ``Text`` is already in that language)."""

from __future__ import annotations

import random

from ..doc import Style
from ..text import Text

#: The structures it draws from: the kinds there were when it was written, so that a seed
#: keeps drawing the same page when a kind is added (the benchmarks' figures name seeds).
STRUCTURES = (
    "columns",
    "figures",
    "form",
    "invoice",
    "letter",
    "lists",
    "paper",
    "sidebar",
    "table_ruled",
    "table_unruled",
)


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page of a randomly chosen structure, in ``text``'s language."""
    from . import COMPOSERS

    kind = rng.choice(STRUCTURES)
    return COMPOSERS[kind](rng, text)
