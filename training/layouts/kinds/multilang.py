"""``multilang``: another kind's structure (any but ``multilang``) with its text in a language
other than English (the caller's ``Text`` is already in that language)."""

from __future__ import annotations

import random

from ..doc import Style
from ..text import Text


def compose(rng: random.Random, text: Text) -> tuple[str, Style]:
    """One page of a randomly chosen structure, in ``text``'s language."""
    from . import COMPOSERS

    kind = rng.choice(sorted(COMPOSERS))
    return COMPOSERS[kind](rng, text)
