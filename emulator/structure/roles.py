"""Paragraph roles for Document Intelligence's ``prebuilt-layout``: which paragraphs are the
document's title, section headings, page headers and footers, page numbers and footnotes.

One module of about 600 lines, on purpose: one decision per paragraph, whose rules for each
role (marked by section comments) weigh the same thresholds, text patterns and page geometry
against each other.

The service decides this from how the page looks; the emulator has only what the engine read:
each paragraph's box, its lines' height, its text, its neighbours in reading order and the
other pages of the document. No font weight, no colour. So every rule below leans on what
survives without them:

* **Size.** The document's *body height* is the median line height over all its lines (each
  line counted once, so a page of prose outweighs its headings). A title is set well above it,
  a heading above it, running heads and footnotes at or below it. Every length is measured in
  body heights or in fractions of the page, so pixels and inches behave alike.
* **Place.** Running heads sit above everything else on the page, footers and page numbers
  below everything else; footnotes come after the body at the bottom of the page.
* **Text.** Page numbers have a shape (``3``, ``- 3 -``, ``Page 3 of 10``, ``iv``); footnotes
  start with a marker; a heading is short and does not end like a sentence or a label; numbered
  headings (``2.1 Methods``) need no extra size.
* **Repetition.** Across the pages of one document, the same text (digits masked) at the same
  place at the top or bottom is a running head or footer even when its size alone would not
  say so.

A wrong heading costs more than a missed one (it breaks a Markdown outline and a reader's
table of contents), so every rule asks for more than one kind of evidence before it names a
role, and body text (``None``) is the answer whenever in doubt.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["title", "sectionHeading", "pageHeader", "pageFooter", "pageNumber", "footnote"]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1, in the page's units (pixels or inches)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph as the engine grouped it."""

    text: str  # its lines' texts joined by "\n"
    box: Box
    line_height: float  # median height of its lines (page units)
    lines: int  # how many lines


@dataclass(frozen=True, slots=True)
class PageParagraphs:
    """One page's size and its paragraphs in reading order."""

    width: float
    height: float
    paragraphs: Sequence[Paragraph]  # in reading order


# -- thresholds ---------------------------------------------------------------------------------
# Heights are in body heights (the document's median line height), places in page fractions.

MARGIN_BAND = 0.13
"""A running head ends within this fraction of the page height from the top edge; a footer
starts within it from the bottom edge (US Letter's 1 in margin is 0.09 of the page; the band
leaves room for a head set inside the text area)."""

REPEATED_MARGIN_BAND = 0.18
"""The band for text that recurs on other pages: recurrence is evidence enough that it is
furniture, so it may sit a little further in."""

MARGIN_MAX_LINES = 2
"""Running heads and footers are a line or two; a block of more lines at the top of a page
is a letterhead address or body text."""

MARGIN_MAX_WORDS = 24
"""A footer may be a whole line of company details, but not a paragraph."""

MARGIN_MAX_HEIGHT = 1.1
"""A lone head or footer (one that does not recur on other pages) is set no larger than the
body (usually 75-90 % of it; the engine's boxes pad small print, so measured heights come
close to the body's): anything taller at the top of a first page is a title or a heading."""

REPEATED_MAX_HEIGHT = 1.35
"""Recurring text may be set larger (a bold running title); beyond this it is a heading that
happens to repeat (a form's title on every page is still a title)."""

MARGIN_GAP = 0.0
"""A head must end, and a footer start, this many of its own line heights clear of the body:
above everything, not beside the first line of text (the engine's boxes of large print reach
up to a head set close above a title, so no more is asked)."""

LONE_MARGIN_GAP = 0.45
"""A lone footer is set apart from the body by at least this many body heights (it sits in the
margin; the last line of a form, a list or a table runs on at line spacing). A head needs no
such gap: what follows it is a title or the body's first line, both larger or longer."""

LONE_SENTENCE_WORDS = 5
"""A lone line at the foot of a page that ends like a sentence and has this many words is a
note or the body's last line, not a footer."""

PAGE_NUMBER_MAX_HEIGHT = 1.3
"""A page number may be set at body size or a little larger and still be one."""

TITLE_MIN_HEIGHT = 1.3
"""A title is set at least this much larger than the body (a heading-sized line at the top of
a page is a heading, not the document's title)."""

TITLE_TOP = 0.4
"""A title starts in the top 40 % of the first page (a large signature or a pull quote further
down is not one)."""

TITLE_MAX_LINES = 3
TITLE_MAX_WORDS = 25

TITLE_NEAR_LARGEST = 0.8
"""The title is the topmost candidate at least this large relative to the largest text near
the top: a company name above a larger ``INVOICE`` is still the title when it is close to it,
but a small kicker line above a large headline is not."""

HEADING_MIN_HEIGHT = 1.1
"""A heading told by size alone is at least this much taller than the body. Bold body-sized
headings are invisible without font weight; they are found only when numbered."""

HEADING_MAX_LINES = 2
HEADING_MAX_WORDS = 14
HEADING_MAX_CHARS = 120

HEADING_NEXT_SMALLER = 0.95
"""A heading told by size is followed by smaller text: the next paragraph's lines are at most
this fraction of the heading's (two large lines in a row are a pull quote or a display)."""

HEADING_NEXT_GAP = 4.0
"""The body text a heading introduces starts within this many heading line heights below it."""

HEADING_BINDS_BELOW = 0.9
"""A heading belongs to the text under it: the space above it is at least this fraction of the
space below it (a value set under its label is closer to the label than to what follows)."""

ROW_NEAR = 4.0
"""A short paragraph this close beside another (in its own line heights) is one cell of a row;
headings side by side are a column apart."""

ROW_OVERLAP = 0.5
"""Two paragraphs share a row when their vertical extents overlap by this fraction of the
shorter one: a heading has no row mate that makes it a table cell or a label."""

FOOTNOTE_MAX_HEIGHT = 1.2
"""Footnotes are set at or below body size (usually 75-85 % of it, though the engine's boxes
pad small print and a superscript marker lifts a line, so measured heights come close)."""

NOTE_TOLERANCE = 0.3
"""How far (in body heights) a note may reach up beside the last body line: boxes of
neighbouring lines overlap a little."""

FOOTNOTE_TOP = 0.5
"""Footnotes start in the bottom half of the page."""

FOOTNOTE_MIN_WORDS = 3
"""A footnote says something: a marker and a word is a list item or a cell."""


# -- text patterns --------------------------------------------------------------------------------

_PAGE_WORD = (
    r"(?:page|pg|p|seite|s|página|pagina|pág|pag|strona|str|blad|bladzijde|feuille|folio|side|sida)"
)
_NUMERAL = r"(?:\d{1,4}|[ivxlc]{1,6}|[IVXLC]{1,6})"
_PAGE_NUMBER = re.compile(
    rf"^[\s\-\u2013\u2014\[(|·•]*(?:{_PAGE_WORD}\.?\s*)?{_NUMERAL}"
    rf"(?:\s*(?:/|of|von|de|di|sur|van|z|av|af)\s*\d{{1,4}})?[\s\-\u2013\u2014\])|·•]*$",
    re.IGNORECASE,
)
"""``3``, ``- 3 -``, ``[3]``, ``Page 3``, ``p. 3``, ``Page 3 of 10``, ``3/10``, ``iv``."""

_ROMAN = re.compile(r"^(?=[ivxlc]+$)m{0,3}(c[md]|d?c{0,3})(x[cl]|l?x{0,3})(i[xv]|v?i{0,3})$", re.I)

_FOOTNOTE_MARKER = re.compile(r"^\s*(?:\d{1,2}|[¹²³⁴⁵⁶⁷⁸⁹⁰]{1,2}|[*†‡§¶]{1,3})\s?(?=[^\W\d_])")
"""A note's marker: ``1``, ``²``, ``*``, ``†``, then the note's first letter (OCR often reads a
superscript marker run into the word after it). ``1)`` and ``(2)`` are left out: they start
list items far more often than notes."""

_LETTER_MARKER = re.compile(r"^\s*[a-h]\s+[A-ZÀ-Ý]")
"""A one-letter marker (``a Source: ...``): a lowercase letter, a space, a capital."""

_NUMBERED_HEADING = re.compile(
    r"^\s*(?:(?:\d{1,2}\.){1,3}\d{1,2}\.?|\d{1,2}\.|[IVX]{1,5}\.|[A-H]\.)\s+\S"
)
"""Numbered section headings: ``2.1 Methods``, ``3.2.1. Data``, ``4. Results``, ``IV. Scope``,
``B. Terms``."""

_MULTI_LEVEL = re.compile(r"^\s*(?:\d{1,2}\.){1,3}\d{1,2}\.?\s+\S")

_SUBJECT = re.compile(
    r"^\s*(?:subject|re|betreff|objet|asunto|oggetto|onderwerp|assunto|dotyczy|ref\. subject)"
    r"\s*:\s*\S",
    re.IGNORECASE,
)
"""A letter's subject line (``Subject: ...``, ``Re: ...``): a heading at body size."""

_LIST_START = re.compile(r"^\s*(?:[•·▪◦‣●○■□✓✔\-\u2013\u2014*+>]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s")
"""A list item's marker: bullets, ``1.``, ``2)``, ``a)``."""

_SENTENCE_END = re.compile(r"[.,;:!?…]\s*$")
_QUOTE_START = re.compile("^\\s*[\"'\u201c\u201d\u201e\u00ab\u00bb\u2018\u2019\u201a\u2039\u203a]")
_LETTERS = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
_SEPARATORS = re.compile(r"\s[|·•]\s|\s{3,}")


def _words(text: str) -> list[str]:
    return text.split()


def _letter_share(text: str) -> float:
    """The share of the non-space characters that are letters."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _LETTERS.match(c)) / len(chars)


def is_page_number(text: str) -> bool:
    """Whether ``text`` is a page number: ``3``, ``- 3 -``, ``Page 3 of 10``, ``iv``."""
    flat = " ".join(text.split())
    if not flat or not _PAGE_NUMBER.match(flat):
        return False
    letters = re.sub(r"[^A-Za-z]", "", flat)
    if letters and not any(ch.isdigit() for ch in flat):
        # Letters only: a Roman numeral, and one that is well formed (not "mix" or "Civic").
        return bool(_ROMAN.match(letters))
    return True


def _masked(text: str) -> str:
    """The text with digits masked and case and spacing folded, to match recurring heads
    (``Page 3`` on one page, ``Page 4`` on the next)."""
    return _DIGITS.sub("#", " ".join(text.lower().split()))


# -- geometry ---------------------------------------------------------------------------------


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _same_row(a: Box, b: Box) -> bool:
    """``a`` and ``b`` sit side by side: their vertical extents overlap by half the shorter,
    and they do not overlap horizontally."""
    shorter = min(a[3] - a[1], b[3] - b[1])
    if shorter <= 0:
        return False
    vertical = _overlap(a[1], a[3], b[1], b[3])
    return vertical >= ROW_OVERLAP * shorter and _overlap(a[0], a[2], b[0], b[2]) <= 0


def _body_height(pages: Sequence[PageParagraphs]) -> float:
    """The document's typical line height: the median over its lines, each paragraph's median
    line height counted once per line."""
    heights: list[float] = []
    for page in pages:
        for p in page.paragraphs:
            if p.line_height > 0:
                heights.extend([p.line_height] * max(1, p.lines))
    return statistics.median(heights) if heights else 0.0


# -- the roles ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """What every rule needs about the document."""

    body: float  # the body height, page units
    pages: Sequence[PageParagraphs]


def paragraph_roles(pages: Sequence[PageParagraphs]) -> list[list[Role | None]]:
    """The role of each paragraph of each page (same shapes as the input).

    ``pages`` are one document's pages in order; the first is where the title may be. Furniture
    (heads, footers, page numbers) is found first, then the title, footnotes and headings among
    what is left.
    """
    roles: list[list[Role | None]] = [[None] * len(page.paragraphs) for page in pages]
    body = _body_height(pages)
    if body <= 0:
        return roles
    context = _Context(body, pages)
    recurring = _recurring(pages)
    for number, page in enumerate(pages):
        _margins(page, roles[number], context, recurring[number])
    if pages:
        _title(pages[0], roles[0], context)
    for number, page in enumerate(pages):
        _footnotes(page, roles[number], context)
        _headings(page, roles[number], context)
    return roles


# -- furniture ----------------------------------------------------------------------------------


def _recurring(pages: Sequence[PageParagraphs]) -> list[set[int]]:
    """For each page, the paragraphs near the top or bottom edge whose masked text recurs near
    the same edge and at about the same place across on another page."""
    found: list[set[int]] = [set() for _ in pages]
    if len(pages) < 2:
        return found
    keyed: list[list[tuple[int, str, str, float]]] = []
    for page in pages:
        entries = []
        for i, p in enumerate(page.paragraphs):
            edge = _edge(p.box, page, REPEATED_MARGIN_BAND)
            if edge is None or p.lines > MARGIN_MAX_LINES:
                continue
            centre = (p.box[0] + p.box[2]) / 2 / page.width if page.width else 0.0
            key = "#" if is_page_number(p.text) else _masked(p.text)
            entries.append((i, edge, key, centre))
        keyed.append(entries)
    for a, entries in enumerate(keyed):
        for i, edge, key, centre in entries:
            for b, others in enumerate(keyed):
                if b == a:
                    continue
                if any(
                    e == edge and k == key and (key == "#" or abs(c - centre) < 0.15)
                    for _, e, k, c in others
                ):
                    found[a].add(i)
                    break
    return found


def _edge(box: Box, page: PageParagraphs, band: float) -> str | None:
    """``top`` when ``box`` ends within ``band`` of the top edge, ``bottom`` when it starts
    within ``band`` of the bottom edge, else ``None``."""
    if page.height <= 0:
        return None
    if box[3] <= band * page.height:
        return "top"
    if box[1] >= (1 - band) * page.height:
        return "bottom"
    return None


def _margins(
    page: PageParagraphs, roles: list[Role | None], context: _Context, recurring: set[int]
) -> None:
    """Running heads, footers and page numbers: short paragraphs in the top or bottom band
    that lie clear of everything else on the page. Text that recurs on other pages needs no
    more; a lone one must also be set apart by a gap and not read like body text (a list item,
    a sentence, a label, a table row that happens to end the page)."""
    body = context.body
    paras = page.paragraphs
    candidates: dict[int, str] = {}
    for i, p in enumerate(paras):
        repeated = i in recurring
        edge = _edge(p.box, page, REPEATED_MARGIN_BAND if repeated else MARGIN_BAND)
        text = " ".join(p.text.split())
        if edge is None or p.lines > MARGIN_MAX_LINES or not text:
            continue
        if len(_words(text)) > MARGIN_MAX_WORDS:
            continue
        number = is_page_number(text)
        if number:
            limit = PAGE_NUMBER_MAX_HEIGHT
        elif repeated:
            limit = REPEATED_MAX_HEIGHT
        else:
            limit = MARGIN_MAX_HEIGHT
            if _LIST_START.match(text) or text.endswith(":") or text[0].islower():
                continue  # a list item, a label, a sentence running on from the page before
            if _SENTENCE_END.search(text) and len(_words(text)) >= LONE_SENTENCE_WORDS:
                continue
        if p.line_height > limit * body:
            continue
        if edge == "bottom" and not number and _looks_like_footnote(p):
            continue
        candidates[i] = edge
    # A row of figures at the top or bottom is the end of a table, not furniture.
    for i in list(candidates):
        row = [i, *(j for j, q in enumerate(paras) if j != i and _same_row(paras[i].box, q.box))]
        if sum(1 for j in row if _letter_share(paras[j].text) < 0.5) >= 2:
            candidates.pop(i)
    if not candidates:
        return
    # Furniture lies clear of the body: above (or below) every paragraph that is not furniture.
    rest = [p for i, p in enumerate(paras) if i not in candidates]
    for i, edge in candidates.items():
        p = paras[i]
        lone_footer = edge == "bottom" and i not in recurring
        gap = LONE_MARGIN_GAP * body if lone_footer else MARGIN_GAP * p.line_height
        if edge == "top":
            clear = all(q.box[1] >= p.box[3] + gap for q in rest)
        else:
            clear = all(q.box[3] <= p.box[1] - gap for q in rest)
        if not clear:
            continue
        if is_page_number(p.text):
            roles[i] = "pageNumber"
        else:
            roles[i] = "pageHeader" if edge == "top" else "pageFooter"


def _looks_like_footnote(p: Paragraph) -> bool:
    """A note at the foot of the page rather than a footer: a marker, then a few words of
    prose, not a row of items set apart by bars or dots."""
    text = " ".join(p.text.split())
    if not (_FOOTNOTE_MARKER.match(text) or _LETTER_MARKER.match(text)):
        return False
    return len(_words(text)) >= FOOTNOTE_MIN_WORDS and not _SEPARATORS.search(text)


# -- title ----------------------------------------------------------------------------------------


def _title(page: PageParagraphs, roles: list[Role | None], context: _Context) -> None:
    """The document's title: on its first page, near the top, clearly larger than the body,
    short, and the largest (or close to the largest) text up there; the topmost such one."""
    body = context.body
    candidates: list[int] = []
    for i, p in enumerate(page.paragraphs):
        if roles[i] is not None or p.box[1] > TITLE_TOP * page.height:
            continue
        if p.lines > TITLE_MAX_LINES or len(_words(p.text)) > TITLE_MAX_WORDS:
            continue
        if p.line_height < TITLE_MIN_HEIGHT * body or _letter_share(p.text) < 0.5:
            continue
        if _QUOTE_START.match(p.text):
            continue
        candidates.append(i)
    if not candidates:
        return
    largest = max(page.paragraphs[i].line_height for i in candidates)
    near = [i for i in candidates if page.paragraphs[i].line_height >= TITLE_NEAR_LARGEST * largest]
    best = min(near, key=lambda i: (page.paragraphs[i].box[1], i))
    roles[best] = "title"


# -- footnotes ------------------------------------------------------------------------------------


def _footnotes(page: PageParagraphs, roles: list[Role | None], context: _Context) -> None:
    """Notes at the foot of the page: small, marked paragraphs in the bottom half with nothing
    but other notes and furniture below them. An unmarked paragraph among them (a note's
    second paragraph, or body text under a numbered line) stops the notes: only those below it
    are kept, since a note is told by its marker alone."""
    body = context.body
    paras = page.paragraphs

    def marked(i: int) -> bool:
        p = paras[i]
        return (
            roles[i] is None
            and p.line_height <= FOOTNOTE_MAX_HEIGHT * body
            and p.box[1] >= FOOTNOTE_TOP * page.height
            and _looks_like_footnote(p)
        )

    notes = {i for i in range(len(paras)) if marked(i)}
    if not notes:
        return
    # The same symbol starting several paragraphs is a bullet: notes count *, †, ‡ or 1, 2, 3.
    symbols = Counter(t[0] for t in (p.text.lstrip() for p in paras) if t and not t[0].isalnum())
    notes = {i for i in notes if symbols[paras[i].text.lstrip()[0]] < 2}
    if not notes:
        return
    # Notes come after the body: keep those that start below the end of every other paragraph
    # still without a role (a marked line with body text under it is a numbered list item).
    others = [paras[i].box[3] for i in range(len(paras)) if roles[i] is None and i not in notes]
    if others:
        floor = max(others) - NOTE_TOLERANCE * body
        notes = {i for i in notes if paras[i].box[1] >= floor}
    for i in notes:
        roles[i] = "footnote"


# -- headings -------------------------------------------------------------------------------------


def _headings(page: PageParagraphs, roles: list[Role | None], context: _Context) -> None:
    """Section headings: short paragraphs that do not read as a sentence, a label or a value,
    set above the text they introduce, and told apart by size, numbering or a subject prefix."""
    body = context.body
    paras = page.paragraphs
    for i, p in enumerate(paras):
        if roles[i] is not None:
            continue
        text = " ".join(p.text.split())
        if not _heading_text(text, p):
            continue
        taller = p.line_height >= HEADING_MIN_HEIGHT * body
        numbered = bool(_MULTI_LEVEL.match(text))
        subject = bool(_SUBJECT.match(text)) and p.lines <= HEADING_MAX_LINES
        if not (taller or numbered or subject):
            continue
        if not subject and _SENTENCE_END.search(text):
            continue
        if _LIST_START.match(text) and not _NUMBERED_HEADING.match(text):
            continue
        if _in_a_row(i, paras):
            continue
        nxt = _next_below(i, paras)
        if nxt is None:
            continue
        q = paras[nxt]
        told_by_size = taller and not (numbered or subject)
        if told_by_size and q.line_height > HEADING_NEXT_SMALLER * p.line_height:
            continue
        if _repeats(text, q.text):
            continue  # a large signature above the typed name
        above = _nearest_above(i, paras)
        if above is not None:
            space_above = p.box[1] - paras[above].box[3]
            space_below = q.box[1] - p.box[3]
            if space_above < HEADING_BINDS_BELOW * space_below:
                continue
        if (
            numbered
            and not taller
            and q.lines <= HEADING_MAX_LINES
            and _NUMBERED_HEADING.match(" ".join(q.text.split()))
        ):
            continue  # "1.1 ..." followed by "1.2 ...": numbered list items or contents
        roles[i] = "sectionHeading"


def _heading_text(text: str, p: Paragraph) -> bool:
    """Short, with words, not a quote, a bullet or a number."""
    if not text or p.lines > HEADING_MAX_LINES or len(text) > HEADING_MAX_CHARS:
        return False
    if len(_words(text)) > HEADING_MAX_WORDS:
        return False
    if _letter_share(text) < 0.5 or _QUOTE_START.match(text):
        return False
    first = next((c for c in text if c.isalpha()), "")
    if first.islower():
        return False  # a caption fragment, a label inside a figure, a broken-off line
    return not is_page_number(text)


def _in_a_row(i: int, paras: Sequence[Paragraph]) -> bool:
    """Whether paragraph ``i`` sits in a row of short paragraphs (a table row, a label beside
    its value): two or more row mates, or one that is a number or ends like a label."""
    box = paras[i].box
    mates = [j for j, q in enumerate(paras) if j != i and _same_row(box, q.box)]
    short = [j for j in mates if paras[j].lines <= HEADING_MAX_LINES]
    if len(short) >= 2:
        return True
    for j in short:
        other = " ".join(paras[j].text.split())
        q = paras[j].box
        gap = max(q[0] - box[2], box[0] - q[2])
        if gap < ROW_NEAR * paras[i].line_height:
            return True  # a value beside its label, a check box option beside another
        if _letter_share(other) < 0.5 or other.endswith(":"):
            return True
        # A row mate at about the same height that is not itself a short heading-like line.
        if _SENTENCE_END.search(other) and paras[j].lines == 1:
            return True
    return False


def _next_below(i: int, paras: Sequence[Paragraph]) -> int | None:
    """The paragraph that follows ``i`` in reading order, when it starts just below ``i`` and
    under it (the text a heading introduces), else ``None``."""
    if i + 1 >= len(paras):
        return None
    p, q = paras[i], paras[i + 1]
    h = p.line_height
    if q.box[1] < p.box[3] - 0.3 * h or q.box[1] > p.box[3] + HEADING_NEXT_GAP * h:
        return None
    if _overlap(p.box[0], p.box[2], q.box[0], q.box[2]) <= 0:
        return None
    return i + 1


def _nearest_above(i: int, paras: Sequence[Paragraph]) -> int | None:
    """The paragraph ending closest above ``i`` and overlapping it horizontally, if any."""
    p = paras[i]
    tolerance = 0.3 * p.line_height
    best: int | None = None
    for j, q in enumerate(paras):
        if j == i or q.box[3] > p.box[1] + tolerance:
            continue
        if _overlap(p.box[0], p.box[2], q.box[0], q.box[2]) <= 0:
            continue
        if best is None or q.box[3] > paras[best].box[3]:
            best = j
    return best


def _repeats(text: str, following: str) -> bool:
    """Whether ``following`` starts with ``text`` (a signature read twice, a running title
    repeated as the first line)."""
    first = following.split("\n", 1)[0]
    a = " ".join(text.lower().split())
    b = " ".join(first.lower().split())
    return bool(a) and (a == b or b.startswith(a))
