"""The layout kinds: one composer a kind, each ``compose(rng, text) -> (html, style)``
drawing one page of its structure at random (``multilang`` composes another kind's
structure in a language other than English)."""

from __future__ import annotations

import random
from collections.abc import Callable

from ..doc import Style
from ..text import Text
from . import columns, figures, form, invoice, letter, lists, multilang, paper, sidebar, tables

__all__ = ["COMPOSERS", "Composer", "multilang"]

Composer = Callable[[random.Random, Text], tuple[str, Style]]

COMPOSERS: dict[str, Composer] = {
    "columns": columns.compose,
    "paper": paper.compose,
    "sidebar": sidebar.compose,
    "figures": figures.compose,
    "table_ruled": tables.compose_ruled,
    "table_unruled": tables.compose_unruled,
    "table_styled": tables.compose_styled,
    "form": form.compose,
    "invoice": invoice.compose,
    "letter": letter.compose,
    "lists": lists.compose,
}
