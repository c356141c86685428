"""``readingOrder=natural`` on the kinds of page people send: the real engine reads pages the
tests draw (articles in columns, side notes, an infobox, tables with and without rules, an
invoice, a page with a margin stamp, a paper's author blocks, a notice in small print) and
the text must come out in the order a person reads it.

The checks are about what a user sees, robust to OCR noise: each drawn line is found in the
output by fuzzy match (or inside a longer output line), then the positions must increase where
order matters and a block's lines must not have another block's lines among them. Exact line
splitting is not required. Each recognition costs about a second; pages are kept small.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from difflib import SequenceMatcher

import pytest
from _img import Sheet, wrap

from emulator.engine.base import PageText
from emulator.engine.rapid import RapidOcrEngine

# -- matching drawn lines in the output ------------------------------------------------------

Pos = tuple[int, int]  # (output line index, token offset inside that line)
_FUZZY = 0.8


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine(intra_op_threads=2)


def _tokens(text: str) -> list[str]:
    words = re.sub(r"[^0-9a-z.@:/-]+", " ", text.lower()).split()
    return [t for t in (w.strip(".:/-") for w in words) if t]


def _ratio(a: Sequence[str], b: Sequence[str]) -> float:
    return SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()


def _locate(lines: Sequence[str], expected: str) -> Pos | None:
    """Where the drawn line ``expected`` is in the output ``lines``: the output line most like
    it, else a run of its words inside a longer line (the detector merged it with a
    neighbour), else two consecutive output lines that together make it (it was split)."""
    want = _tokens(expected)
    toks = [_tokens(line) for line in lines]
    ratios = [_ratio(want, got) for got in toks]
    if ratios and max(ratios) >= _FUZZY:
        return (ratios.index(max(ratios)), 0)
    n = len(want)
    for i, got in enumerate(toks):
        for k in range(len(got) - n + 1):
            if got[k : k + n] == want:
                return (i, k)
    best: tuple[float, Pos] | None = None
    for i, got in enumerate(toks):
        for k in range(len(got) - n + 1):
            r = _ratio(want, got[k : k + n])
            if r >= _FUZZY and (best is None or r > best[0]):
                best = (r, (i, k))
    if best is not None:
        return best[1]
    for i in range(len(toks) - 1):
        if _ratio(want, toks[i] + toks[i + 1]) >= _FUZZY:
            return (i, 0)
    return None


def _listing(lines: Sequence[str], owners: dict[int, set[str]] | None = None) -> str:
    owners = owners or {}
    return "\n".join(
        f"{i:3d} [{','.join(sorted(owners.get(i, ()))) or '-'}] {line}"
        for i, line in enumerate(lines)
    )


def _texts(page: PageText) -> list[str]:
    return [line.text for line in page.lines]


def _assert_words(lines: Sequence[str], expected: Sequence[str], share: float = 0.95) -> None:
    """At least ``share`` of the drawn words are in the output (the OCR itself is right)."""
    got: dict[str, int] = {}
    for line in lines:
        for t in _tokens(line):
            got[t] = got.get(t, 0) + 1
    want = [t for line in expected for t in _tokens(line)]
    found = 0
    for t in want:
        if got.get(t, 0) > 0:
            got[t] -= 1
            found += 1
    assert found >= share * len(want), (
        f"only {found}/{len(want)} drawn words read:\n{_listing(lines)}"
    )


def _assert_reading(
    lines: Sequence[str],
    blocks: dict[str, Sequence[str]],
    sequence: Sequence[str] = (),
) -> dict[str, list[Pos]]:
    """Each block's lines are found, in order, with no other block's line among them; the
    blocks named in ``sequence`` come one after the other in that order. Returns where each
    block's lines were found."""
    where: dict[str, list[Pos]] = {}
    owners: dict[int, set[str]] = {}
    missing = []
    for name, drawn in blocks.items():
        where[name] = []
        for text in drawn:
            pos = _locate(lines, text)
            if pos is None:
                missing.append(f"{name}: {text!r}")
                continue
            where[name].append(pos)
            owners.setdefault(pos[0], set()).add(name)
    listing = _listing(lines, owners)
    assert not missing, "drawn lines not read:\n" + "\n".join(missing) + "\n" + listing
    problems = []
    for name, found in where.items():
        if found != sorted(found):
            problems.append(f"{name}: lines out of order {[p[0] for p in found]}")
        lo, hi = min(p[0] for p in found), max(p[0] for p in found)
        intruders = sorted({i for i in range(lo, hi + 1) for o in owners.get(i, ()) if o != name})
        if intruders:
            problems.append(f"{name}: other blocks' lines {intruders} inside lines {lo}-{hi}")
    for first, then in itertools.pairwise(sequence):
        if max(where[first]) >= min(where[then]):
            problems.append(f"{first} does not end before {then} starts")
    assert not problems, "\n".join(problems) + "\n" + listing
    return where


def _prose(text: str, width: int, font_size: int, lines: int) -> list[str]:
    wrapped = wrap(text, width, font_size)
    assert len(wrapped) >= lines, (len(wrapped), text[:40])
    return wrapped[:lines]


# -- texts ------------------------------------------------------------------------------------

ORCHARD_LEFT = (
    "The old orchard behind the mill was planted in the spring of 1923 by a family who had "
    "never grown anything larger than potatoes. They chose apples because a neighbour promised "
    "to lend them his press, and because apples, unlike wheat, forgive a late frost. Within ten "
    "years the trees gave more fruit than the village could eat, and the surplus went by cart "
    "to the market town every Thursday morning."
)
ORCHARD_RIGHT = (
    "Keeping the trees alive through the dry summers of the thirties was harder. Water came "
    "from a single well, carried in buckets by the children before school, and every tree had "
    "its own shallow basin of earth to hold the rain. Many farms gave up their orchards in those "
    "years, but this one survived, and some of the original trees still bear fruit today."
)
RIVER_LEFT = (
    "When the river burst its banks last winter, the water rose faster than anyone in the town "
    "had seen before. Shops on the lower street were flooded to the height of a door handle "
    "within an hour, and the bridge was closed for three days while engineers checked its "
    "piers for damage. Residents who had lived there for decades said the old flood marks on "
    "the church wall were no longer a reliable guide to what the river could do."
)
RIVER_RIGHT = (
    "The council has since commissioned a study of the whole catchment, from the peat bogs on "
    "the hills to the estuary. Early results suggest that restoring wetlands upstream could "
    "slow the water enough to protect the town without raising the walls again. Farmers are "
    "being asked whether they would accept payment for letting some fields flood in a storm, "
    "and the first agreements are expected to be signed before next autumn."
)
NIGHTINGALE = (
    "Florence Nightingale was an English social reformer and statistician, and the founder of "
    "modern nursing. She came to prominence while serving as a manager and trainer of nurses "
    "during the Crimean War, in which she organised care for wounded soldiers at Constantinople. "
    "She gave nursing a favourable reputation and became an icon of Victorian culture, "
    "especially in the persona of The Lady with the Lamp making rounds of wounded soldiers at "
    "night. Her work on the causes of death in the army hospitals led her to draw some of the "
    "first diagrams that showed statistics to people who would never read a table."
)
MAPS_ABSTRACT = (
    "Historical atlases record place names that have changed, vanished or never appeared in "
    "any gazetteer. We present a method that finds and reads these names on scanned map sheets, "
    "links them to modern coordinates, and reports how confident it is. On a new collection of "
    "four hundred sheets printed between 1820 and 1910, it finds nine in ten names correctly."
)
MAPS_LEFT = (
    "Maps are among the most heavily used items in any library, yet the names printed on them "
    "are rarely searchable. A reader who wants to know where a farm or a chapel stood must "
    "often turn through dozens of sheets by hand, comparing the lettering with modern surveys."
)
MAPS_RIGHT = (
    "Our approach treats each sheet as a page of text set at many angles and sizes. A detector "
    "proposes regions that contain lettering, a recogniser reads them, and a matching step "
    "compares the readings with names known from other sources of the same period."
)
NOTICE = (
    "Notice is hereby given that the following applications for planning permission have been "
    "received by the district council and may be inspected at the town hall between nine in "
    "the morning and four in the afternoon on any weekday. Comments on an application must be "
    "made in writing and should reach the planning office within twenty one days of the date "
    "of this notice. Please quote the reference number shown against each application. "
    "Application one concerns the conversion of the former railway goods shed on Station Road "
    "into six dwellings with parking for twelve cars and a new access to the main road. "
    "Application two proposes a single storey extension to the rear of the primary school "
    "to provide two classrooms, a small library and accessible toilets for pupils and staff. "
    "Application three seeks consent to fell four beech trees in the churchyard which the "
    "diocese reports to be diseased, and to replant with native oak and rowan in the same "
    "places. Application four is for the change of use of the bank on the market square to "
    "a cafe with seating on the pavement during the summer months. Application five relates "
    "to a wind turbine of modest height on land north of the quarry, with a cable route to "
    "the substation along the existing farm track. Copies of all plans may also be viewed on "
    "the council website, where comments can be submitted at any time of day or night."
)


# -- the pages ---------------------------------------------------------------------------------


def test_two_columns_under_a_title_with_a_footer(engine: RapidOcrEngine) -> None:
    """An article in two columns under a full-width title, with a page footer. What goes wrong
    for a user: the columns are read across (a line of the left column, then the line beside
    it in the right one), so every sentence is cut in half; or the title or footer lands in the
    middle of the text."""
    sheet = Sheet((1240, 680))
    title = "Soil, Water and Patience: a Century of Orchards"
    left = _prose(ORCHARD_LEFT, 500, 26, 10)
    right = _prose(ORCHARD_RIGHT, 500, 26, 10)
    footer = "Journal of Rural History - Volume 12 - Page 84"
    sheet.text((620, 60), title, 40, align="centre")
    sheet.block((80, 150), left, 26)
    sheet.block((660, 150), right, 26)
    sheet.text((620, 610), footer, 22, align="centre")
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [title, *left, *right, footer])
    _assert_reading(
        lines,
        {"title": [title], "left": left, "right": right, "footer": [footer]},
        ["title", "left", "right", "footer"],
    )


def test_side_column_of_notes_beside_a_two_column_article(engine: RapidOcrEngine) -> None:
    """A magazine page: a narrow left margin column with the author's name at the top and a
    short note about the author in smaller type at the bottom, beside an article in two
    columns. What goes wrong for a user: the note's lines are shuffled in among the article's
    lines (each note line read with the article line beside it), so neither the note nor the
    article reads as text."""
    sheet = Sheet((1330, 720))
    title = "After the Flood: Why the River Rose So Fast"
    name = "By Margaret Ellison"
    notes = [
        "Margaret Ellison is a",
        "hydrologist at the",
        "University of Leeds.",
        "She has studied the",
        "river for twenty",
        "years; her book on",
        "floods is due in May.",
    ]
    left = _prose(RIVER_LEFT, 420, 26, 13)
    right = _prose(RIVER_RIGHT, 420, 26, 13)
    sheet.text((380, 60), title, 34)
    sheet.text((70, 72), name, 22)
    sheet.block((70, 452), notes, 20)
    sheet.block((380, 160), left, 26)
    sheet.block((850, 160), right, 26)
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [title, name, *notes, *left, *right])
    _assert_reading(
        lines,
        {"title": [title], "name": [name], "notes": notes, "left": left, "right": right},
        ["title", "left", "right"],
    )


def test_infobox_beside_the_main_text(engine: RapidOcrEngine) -> None:
    """An encyclopedia page: prose on the left, a shaded, bordered box of label/value rows on
    the right. What goes wrong for a user: a box row is read between two lines of the prose
    (a sentence broken by "Born 12 May 1820"), or a label is separated from its value."""
    sheet = Sheet((1300, 690))
    title = "Florence Nightingale"
    main = _prose(NIGHTINGALE, 680, 26, 13)
    header = "Personal details"
    rows = [
        ("Born", "12 May 1820"),
        ("Died", "13 August 1910"),
        ("Nationality", "British"),
        ("Occupation", "Nurse, statistician"),
        ("Known for", "Modern nursing"),
        ("Awards", "Royal Red Cross"),
        ("Parents", "William and Frances"),
    ]
    sheet.text((70, 50), title, 40)
    sheet.rule((70, 110), (1240, 110))
    sheet.block((70, 140), main, 26)
    sheet.box((800, 140, 1240, 540), fill="#e8ecf2")
    sheet.text((1020, 155), header, 24, align="centre")
    for k, (label, value) in enumerate(rows):
        sheet.text((820, 205 + 44 * k), label, 22)
        sheet.text((980, 205 + 44 * k), value, 22)
    box = [header, *(cell for row in rows for cell in row)]
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [title, *main, *box])
    _assert_reading(lines, {"title": [title], "main": main, "box": box}, ["title", "main"])


def _cell_values(rows: int, columns: int, seed: int, low: int, high: int, scale: int) -> list:
    import random

    picks = random.Random(seed).sample(range(low, high), rows * columns)
    fmt = "{:.1f}" if scale == 10 else "{:.2f}"
    values = [fmt.format(p / scale) for p in picks]
    return [values[r * columns : (r + 1) * columns] for r in range(rows)]


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def test_ruled_table_under_a_header_reads_row_by_row(engine: RapidOcrEngine) -> None:
    """A table with a full grid of rules (4 columns, 13 rows of short cells) under a title and
    two lines of introduction. What goes wrong for a user: the table is read column by column
    (all the months, then all of one station's figures), so no figure can be matched to its
    month; or the introduction is read into the table."""
    sheet = Sheet((980, 860))
    header = [
        "Table 2. Monthly rainfall in millimetres, 2023",
        "Totals recorded at three coastal weather stations.",
        "Figures for December are provisional.",
    ]
    sheet.text((80, 40), header[0], 30)
    sheet.block((80, 95), header[1:], 24)
    table = [["Month", "Aberdeen", "Bristol", "Cardiff"]]
    table += [[m, *v] for m, v in zip(MONTHS, _cell_values(12, 3, 2, 300, 1500, 10), strict=True)]
    edges, top, step = [80, 300, 500, 700, 900], 200, 46
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            sheet.text((edges[c] + 16, top + step * r + 10), cell, 24)
    for r in range(len(table) + 1):
        sheet.rule((edges[0], top + step * r), (edges[-1], top + step * r))
    for x in edges:
        sheet.rule((x, top), (x, top + step * len(table)))
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [*header, *(c for row in table for c in row)])
    blocks = {"header": header} | {f"row {r}": row for r, row in enumerate(table)}
    _assert_reading(lines, blocks, list(blocks))


def test_unruled_table_reads_row_by_row(engine: RapidOcrEngine) -> None:
    """A departure board printed as a table aligned by white space alone, no rules. What goes
    wrong for a user: the columns are taken for text columns and read one after the other
    (all the times, then all the trains), so a time can no longer be matched to its train."""
    sheet = Sheet((1060, 660))
    title = "Departures from Hall B, Monday"
    table = [
        ["Time", "Train", "Destination", "Platform"],
        ["08:05", "ICE 571", "Hamburg Altona", "7"],
        ["08:12", "RE 4410", "Bremen", "3"],
        ["08:26", "IC 2216", "Hannover", "11"],
        ["08:31", "RB 81", "Cuxhaven", "5"],
        ["08:47", "ICE 703", "Berlin Spandau", "14"],
        ["09:02", "RE 7", "Kiel", "2"],
        ["09:15", "IC 2082", "Stralsund", "9"],
        ["09:28", "RB 33", "Schwerin", "12"],
        ["09:40", "ICE 1609", "Rostock", "4"],
        ["09:56", "RE 5", "Flensburg", "8"],
    ]
    sheet.text((80, 40), title, 30)
    for r, row in enumerate(table):
        for x, cell in zip((80, 260, 480, 860), row, strict=True):
            sheet.text((x, 120 + 46 * r), cell, 26)
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [title, *(c for row in table for c in row)])
    blocks = {"title": [title]} | {f"row {r}": row for r, row in enumerate(table)}
    _assert_reading(lines, blocks, list(blocks))


def test_invoice_reads_labels_with_their_values(engine: RapidOcrEngine) -> None:
    """An invoice: sender's and customer's addresses side by side at the top, label/value
    rows, line items with right-aligned amounts, totals on the right. What goes wrong for a
    user: a label comes out far from its value (all the labels, then all the values), so
    "Total due" is not followed by the amount due, or the addresses' column is read to its
    end before the other. Short blocks side by side on a form are read row by row, as the
    evaluation corpus's truths for invoices and forms are (``../shared/eval/README.md``,
    ``truth_order`` "rows")."""
    sheet = Sheet((1240, 1060))
    seller = ["Nordlicht Bakery Supplies GmbH", "Hafenstrasse 12", "20457 Hamburg", "Germany"]
    buyer = ["Bill to:", "Harbour Cafe Ltd", "17 Quay Street", "Bristol BS1 4DB", "United Kingdom"]
    sheet.block((80, 70), seller, 24)
    sheet.block((760, 70), buyer, 24)
    sheet.text((80, 270), "INVOICE", 40)
    fields = [
        ("Invoice number:", "2024-0117"),
        ("Invoice date:", "15 March 2024"),
        ("Due date:", "14 April 2024"),
        ("Customer ID:", "HC-2291"),
    ]
    for k, (label, value) in enumerate(fields):
        sheet.text((80, 340 + 40 * k), label, 24)
        sheet.text((330, 340 + 40 * k), value, 24)
    items = [
        ("Description", "Qty", "Unit price", "Amount"),
        ("Rye flour, 25 kg sack", "4", "38.50", "154.00"),
        ("Sunflower seeds, 5 kg", "16", "9.75", "156.00"),
        ("Baking paper, 500 sheets", "2", "21.00", "42.00"),
        ("Dried cranberries, 1 kg", "8", "14.50", "116.00"),
        ("Sourdough starter culture", "3", "48.00", "144.00"),
    ]
    for k, (desc, qty, unit, amount) in enumerate(items):
        y = 540 + 46 * k + (8 if k else 0)
        sheet.text((80, y), desc, 24)
        sheet.text((700, y), qty, 24, align="right")
        sheet.text((900, y), unit, 24, align="right")
        sheet.text((1160, y), amount, 24, align="right")
    sheet.rule((80, 578), (1160, 578))
    sheet.rule((740, 820), (1160, 820))
    totals = [("Subtotal", "612.00"), ("VAT 20%", "122.40"), ("Total due", "734.40")]
    for k, (label, value) in enumerate(totals):
        sheet.text((760, 836 + 42 * k), label, 24)
        sheet.text((1160, 836 + 42 * k), value, 24, align="right")
    footer = "Please pay within 30 days by bank transfer to IBAN DE44 2005 0550 1234 5678 90"
    sheet.text((80, 1000), footer, 20)
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    rows = [*fields, *items, *totals]
    _assert_words(lines, [*seller, *buyer, "INVOICE", *(c for row in rows for c in row), footer])
    address_rows = [
        [*seller[k : k + 1], *buyer[k : k + 1]] for k in range(max(len(seller), len(buyer)))
    ]
    blocks: dict[str, Sequence[str]] = {
        f"address row {k}": row for k, row in enumerate(address_rows)
    }
    blocks["title"] = ["INVOICE"]
    blocks |= {f"row {k} ({row[0]})": row for k, row in enumerate(rows)}
    blocks["footer"] = [footer]
    _assert_reading(lines, blocks, list(blocks))


def test_landscape_table_with_a_vertical_margin_label(engine: RapidOcrEngine) -> None:
    """A landscape table page with a page label printed up the left edge (turned 90 degrees,
    read bottom to top). What goes wrong for a user: the upright table is read column by column
    or bottom to top because of the label, or the label is broken into pieces or read into the
    middle of the table's rows."""
    # A landscape page's proportions (about 1.4:1); the table sits in its upper half.
    sheet = Sheet((1500, 1060))
    label = "Supplementary material - page 12 of 40"
    sheet.vertical((25, 300), label, 22)
    title = "Table S3. Wheat yield by region in tonnes per hectare, 2019 to 2023"
    regions = ["Scotland", "Wales", "Yorkshire", "Cornwall", "Norfolk", "Kent", "Cumbria", "Fife"]
    table = [["Region", "2019", "2020", "2021", "2022", "2023"]]
    table += [[r, *v] for r, v in zip(regions, _cell_values(8, 5, 7, 400, 999, 100), strict=True)]
    source = "Source: national agricultural survey, provisional figures for 2023."
    top = 150
    sheet.text((120, top), title, 28)
    sheet.rule((120, top + 68), (1400, top + 68))
    for r, row in enumerate(table):
        y = top + 80 + 46 * r + (10 if r else 0)
        for x, cell in zip((120, 520, 700, 880, 1060, 1240), row, strict=True):
            sheet.text((x, y), cell, 26)
    sheet.rule((120, top + 122), (1400, top + 122))
    sheet.rule((120, top + 510), (1400, top + 510))
    sheet.text((120, top + 530), source, 22)
    page = engine.recognize(sheet.image, reading_order="natural")
    assert page.angle == pytest.approx(0.0, abs=1.0)
    lines = _texts(page)
    _assert_words(lines, [label, title, *(c for row in table for c in row), source])
    body = {"title": [title]} | {f"row {r}": row for r, row in enumerate(table)}
    body["source"] = [source]
    where = _assert_reading(lines, body, list(body))
    # The label is one line with its whole text, before or after the body, not inside it.
    ratios = [_ratio(_tokens(label), _tokens(t)) for t in lines]
    assert max(ratios) >= _FUZZY, "label not read as one line\n" + _listing(lines)
    at = ratios.index(max(ratios))
    spans = [p[0] for found in where.values() for p in found]
    assert at < min(spans) or at > max(spans), f"label at {at}\n" + _listing(lines)


def test_paper_author_blocks_before_the_abstract(engine: RapidOcrEngine) -> None:
    """The first page of a paper: a centred title, three author blocks side by side (name,
    affiliation, email, centred in its own column), the abstract, then two columns. What goes
    wrong for a user: the author blocks are read across as a table (three names, then three
    affiliations, then three emails), so no one's email goes with their name; or an author line
    ends up in the abstract or the body text."""
    sheet = Sheet((1240, 960))
    title = ["Learning to Read Old Maps:", "Toponym Recognition in Historical Atlases"]
    sheet.block((620, 50), title, 34, leading=1.35, align="centre")
    authors = [
        ["Alasdair MacLeod", "University of Edinburgh", "a.macleod@ed.ac.uk"],
        ["Johanna Weber", "ETH Zurich", "j.weber@ethz.ch"],
        ["Rose Okafor", "National Library of Scotland", "r.okafor@nls.uk"],
    ]
    for cx, (name, affiliation, email) in zip((230, 620, 1010), authors, strict=True):
        sheet.text((cx, 180), name, 24, align="centre")
        sheet.text((cx, 216), affiliation, 20, align="centre")
        sheet.text((cx, 246), email, 20, align="centre")
    abstract = ["Abstract", *_prose(MAPS_ABSTRACT, 960, 24, 5)]
    sheet.text((620, 320), abstract[0], 26, align="centre")
    sheet.block((140, 365), abstract[1:], 24)
    left = ["1 Introduction", *_prose(MAPS_LEFT, 500, 24, 7)]
    right = ["2 Method", *_prose(MAPS_RIGHT, 500, 24, 7)]
    sheet.block((80, 610), left, 24)
    sheet.block((660, 610), right, 24)
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(
        lines, [*title, *(a for block in authors for a in block), *abstract, *left, *right]
    )
    blocks: dict[str, Sequence[str]] = {"title": title}
    blocks |= {f"author {k + 1}": block for k, block in enumerate(authors)}
    blocks |= {"abstract": abstract, "left": left, "right": right}
    _assert_reading(lines, blocks, list(blocks))


def test_three_column_notice_in_small_print(engine: RapidOcrEngine) -> None:
    """A public notice in three columns of small print (about 8 pt at 200 dpi) under a
    full-width heading, the text running on from one column to the next. What goes wrong for a
    user: the columns are read across, so the notice is a jumble of half-lines; or a column is
    started before the one to its left is finished."""
    sheet = Sheet((1370, 620))
    heading = "PUBLIC NOTICE - TOWN AND COUNTRY PLANNING"
    text = _prose(NOTICE, 390, 23, 39)
    columns = [text[0:13], text[13:26], text[26:39]]
    sheet.text((685, 50), heading, 34, align="centre")
    for x, column in zip((60, 490, 920), columns, strict=True):
        sheet.block((x, 140), column, 23, leading=1.4)
    lines = _texts(engine.recognize(sheet.image, reading_order="natural"))
    _assert_words(lines, [heading, *text])
    blocks = {"heading": [heading], "column 1": columns[0], "column 2": columns[1]}
    blocks["column 3"] = columns[2]
    _assert_reading(lines, blocks, list(blocks))
