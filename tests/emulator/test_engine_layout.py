"""Reading order over boxes, without the engine: basic rows and natural columns/blocks."""

from __future__ import annotations

from emulator.engine.layout import (
    Box,
    _goes_on,
    _pieces_of_lines,
    basic_order,
    group_rows,
    natural_order,
)


def _line(x: float, y: float, width: float, height: float = 20.0) -> Box:
    return (x, y, x + width, y + height)


def _recorded(rows: str) -> list[Box]:
    """Boxes recorded from a generated page: ``x0 y0 x1 y1`` each, ``|`` between them, listed
    line after line of ``rows``."""
    return [
        (float(x0), float(y0), float(x1), float(y1))
        for row in rows.splitlines()
        for x0, y0, x1, y1 in [box.split() for box in row.split("|")]
    ]


def test_empty_and_single() -> None:
    assert basic_order([]) == []
    assert natural_order([]) == []
    assert natural_order([_line(0, 0, 100)]) == [0]


def test_basic_reads_rows_top_to_bottom_left_to_right() -> None:
    boxes = [_line(300, 0, 100), _line(0, 2, 100), _line(0, 40, 250)]
    assert basic_order(boxes) == [1, 0, 2]


def test_rows_tolerate_the_slope_of_a_slightly_skewed_scan() -> None:
    # Three words of one row drifting down by 6 px each, next row 30 px lower.
    boxes = [_line(0, 0, 80), _line(100, 6, 80), _line(200, 12, 80), _line(0, 30, 80)]
    assert group_rows(boxes) == [[0, 1, 2], [3]]


def test_a_short_last_line_under_a_tall_box_is_the_next_row() -> None:
    # On a curved page the bend leaves a long line's box tall (53 px for a 37 px line), so it
    # overlaps half of the paragraph's short last line under it: still two rows, the long line
    # first, not one row read from the short line's left edge.
    boxes = [(219.0, 521.0, 1307.0, 574.0), (217.0, 555.0, 678.0, 592.0)]
    assert group_rows(boxes) == [[0], [1]]
    assert basic_order(boxes) == [0, 1]
    assert natural_order(boxes) == [0, 1]
    # Two words of one row whose boxes touch stay one row, and so does a speck the detector
    # found within a line's height (a stray "1" inside the line's box).
    assert group_rows([_line(0, 0, 100), _line(98, 4, 60)]) == [[0, 1]]
    assert basic_order([(45.0, 36.0, 577.0, 128.0), (519.0, 76.0, 523.0, 84.0)]) == [0, 1]


def _two_columns(rows: int = 6) -> list[Box]:
    # Lines of both columns on a shared baseline grid, 16 characters wide or more (prose).
    left = [_line(0, 30 * r, 380) for r in range(rows)]
    right = [_line(420, 30 * r, 380) for r in range(rows)]
    return left + right


def test_natural_reads_two_columns_column_by_column() -> None:
    boxes = _two_columns()
    assert natural_order(boxes) == list(range(12))
    # basic interleaves the columns row by row
    assert basic_order(boxes)[:4] == [0, 6, 1, 7]


def test_natural_puts_a_spanning_heading_first_and_a_footer_last() -> None:
    boxes = [*_two_columns(), _line(0, -60, 800, 40), _line(0, 200, 800)]
    assert natural_order(boxes) == [12, *range(12), 13]


def test_natural_reads_a_table_row_by_row() -> None:
    # Short cells on shared rows: a table, not three text columns.
    boxes = []
    for r in range(5):
        boxes += [_line(0, 30 * r, 90), _line(300, 30 * r, 60), _line(500, 30 * r, 70)]
    assert natural_order(boxes) == list(range(15))


def test_natural_keeps_paragraphs_of_a_column_together() -> None:
    # Left column has a paragraph break the right column does not share.
    left = [_line(0, 0, 380), _line(0, 30, 380), _line(0, 90, 380), _line(0, 120, 380)]
    right = [_line(420, 0, 380), _line(420, 30, 380), _line(420, 60, 380)]
    assert natural_order(left + right) == list(range(7))


def test_natural_sets_a_caption_in_the_gutter_aside_and_keeps_columns_whole() -> None:
    # Two prose columns; a short caption sits across the gutter halfway down.
    boxes = _two_columns(8)
    caption = [_line(330, 100, 140, 16), _line(350, 118, 100, 16)]
    order = natural_order(boxes + caption)
    assert order[:16] == list(range(16))  # left column whole, then right column
    assert sorted(order[16:]) == [16, 17]


def test_natural_reads_a_form_with_sparse_labels_row_by_row() -> None:
    # Long runs on the left, a few labels far apart on the right (an invoice's header and
    # items): side by side, not the whole left side first.
    left = [_line(0, 30 * r, 300) for r in range(8)]
    right = [_line(500, 0, 120), _line(500, 210, 120)]
    order = natural_order(left + right)
    assert order.index(8) < order.index(1)
    assert order.index(9) > order.index(6)


def test_a_line_merged_across_a_gutter_is_cut_there_and_only_there() -> None:
    from emulator.engine.layout import gutter_cuts

    # Two justified columns (0-380 and 420-800); the detector merged row 0 across the gutter.
    lines = [_line(0, 0, 800)] + [_line(0, 30 * r, 380) for r in range(1, 5)]
    lines += [_line(420, 30 * r, 380) for r in range(1, 5)]
    words = [[_line(0, 0, 150), _line(160, 0, 220), _line(420, 0, 200), _line(630, 0, 170)]]
    words += [[b] for b in lines[1:]]
    cuts = gutter_cuts(lines, words)
    assert cuts[0] == [1]  # between the second and third word, where the gutter runs
    assert all(c == [] for c in cuts[1:])


def test_word_gaps_inside_a_column_or_a_table_row_are_not_cut() -> None:
    from emulator.engine.layout import gutter_cuts

    prose = [_line(0, 30 * r, 380) for r in range(5)]
    prose_words = [[_line(0, 30 * r, 180), _line(200, 30 * r, 180)] for r in range(5)]
    assert gutter_cuts(prose, prose_words) == [[]] * 5
    # A table row "Apples 3 1.20" above and below other rows whose cells start further right.
    rows = [_line(0, 30 * r, 500) for r in range(4)]
    row_words = [
        [_line(0, 30 * r, 90), _line(300, 30 * r, 20), _line(430, 30 * r, 70)] for r in range(4)
    ]
    assert gutter_cuts(rows, row_words) == [[]] * 4


def test_footnotes_under_three_of_four_columns_follow_all_four() -> None:
    # Four columns of 10 prose lines; two footnote lines under the first three columns only,
    # which leaves the fourth column's gutter open beside them.
    columns = [[_line(10 + 220 * c, 30 * r, 200) for r in range(10)] for c in range(4)]
    boxes = [b for col in columns for b in col]
    boxes += [_line(10, 310, 600, 14), _line(10, 330, 560, 14)]
    assert natural_order(boxes) == list(range(42))


def test_a_heading_centred_between_author_blocks_follows_both() -> None:
    # Two centred author blocks of three lines, then "Abstract" centred on the page (in the
    # white between the blocks), then the abstract across the page.
    left = [_line(100, 0, 160), _line(80, 25, 200), _line(90, 50, 180)]
    right = [_line(600, 0, 160), _line(580, 25, 200), _line(590, 50, 180)]
    heading = [_line(420, 90, 80)]
    abstract = [_line(50, 130 + 25 * r, 800) for r in range(4)]
    order = natural_order(left + right + heading + abstract)
    assert order == list(range(11))


def test_a_name_in_large_type_beside_an_address_comes_first() -> None:
    name = (50.0, 20.0, 350.0, 70.0)  # one line, 50 px high
    address = [_line(600, 10 + 22 * r, 200, 18) for r in range(5)]
    assert natural_order([name, *address]) == [0, 1, 2, 3, 4, 5]


def test_a_footer_under_columns_of_unequal_length_comes_last() -> None:
    # A short left column (a box of notes), a long right column, then a footer line at the
    # bottom left and a page number at the bottom right, under white wider than a paragraph
    # break: the footer is not the left column's last line.
    left = [_line(0, 30 * r, 300) for r in range(5)]
    right = [_line(400, 30 * r, 300) for r in range(20)]
    footer = [_line(0, 660, 150), _line(660, 660, 40)]
    assert natural_order(left + right + footer) == list(range(27))


def test_the_next_column_beside_author_blocks_is_not_read_into_the_abstract() -> None:
    # Three author blocks (3 lines each, about 200 px wide) over a two-column page: the
    # abstract (left) and the right column start on the same rows. A right-column line
    # crosses the gutter between the second and third author blocks; it is no caption.
    authors = [_line(x + 10 * (r % 2), 30 * r, 180) for x in (60, 380, 700) for r in range(3)]
    left = [_line(0, 120 + 30 * r, 440) for r in range(6)]
    right = [_line(480, 120 + 30 * r, 440) for r in range(6)]
    order = natural_order(authors + left + right)
    assert order[9:15] == list(range(9, 15))  # the abstract whole
    assert order[15:] == list(range(15, 21))


def test_list_markers_found_apart_from_their_items_are_read_with_them() -> None:
    # Ten items, two lines each, their first lines beside a bullet the detector found on
    # its own: bullet, item, bullet, item, ... not the column of bullets first.
    boxes: list[Box] = []
    for k in range(10):
        y = 70 * k
        boxes.append((0.0, y + 6.0, 9.0, y + 15.0))  # the bullet, smaller than the text
        boxes.append(_line(30, y, 500))
        boxes.append(_line(30, y + 30, 300))
    assert natural_order(boxes) == list(range(30))


def test_a_paragraph_s_short_last_line_is_no_marker() -> None:
    # A left column whose paragraphs end in a one-word line, beside a right column: the
    # short line stays in its column.
    left = [_line(0, 30 * r, 380 if r % 3 != 2 else 30) for r in range(9)]
    right = [_line(420, 30 * r, 380) for r in range(9)]
    assert natural_order(left + right) == list(range(18))


def _cuts_over_two_columns(
    top: float, bottom: float, left_end: float, right_start: float
) -> list[int]:
    """The cuts :func:`gutter_cuts` finds in a line from ``top`` to ``bottom`` across two
    columns of five 20 px lines (0-380 and 420-800), its one word space running from
    ``left_end`` to ``right_start``."""
    from emulator.engine.layout import gutter_cuts

    lines = [(0.0, top, 800.0, bottom)] + [
        _line(x, 30 * r, 380) for x in (0, 420) for r in range(5)
    ]
    words = [[(0.0, top, left_end, bottom), (right_start, top, 800.0, bottom)]]
    words += [[b] for b in lines[1:]]
    return gutter_cuts(lines, words)[0]


def test_a_title_in_large_type_over_the_gutter_is_not_cut_at_a_word_space() -> None:
    # The same two columns under a title 40 px high whose word space happens to sit over
    # the gutter: a title, not two columns' lines merged.
    assert _cuts_over_two_columns(-60.0, -20.0, 385.0, 415.0) == []


def test_a_deck_a_little_larger_than_the_text_is_not_cut_over_the_gutter() -> None:
    # A subtitle 26 px high (1.3 times the columns' 20 px type) runs across both columns,
    # one of its word spaces over the gutter: it is read whole, not cut into two lines.
    assert _cuts_over_two_columns(-40.0, -14.0, 390.0, 410.0) == []


def test_a_byline_centred_over_a_middle_column_is_read_before_the_columns() -> None:
    # A title, then a byline centred on the page (so over the middle column only, and not
    # at its left edge) a little closer to the columns than a paragraph break, as a
    # detector's tall boxes set it: title, byline, then three columns, each whole.
    title = (200.0, -100.0, 1020.0, -60.0)
    byline = _line(470, -35, 280, 20)
    columns = [_line(x, 30 * r, 380) for x in (0, 420, 840) for r in range(6)]
    order = natural_order([title, byline, *columns])
    assert order == [0, 1, *range(2, 20)]


def test_a_pull_quote_whose_lines_differ_by_their_descenders_is_read_whole() -> None:
    # A pull quote of four lines in display type (a detector's boxes 40 to 51 px high: lines
    # with and without descenders) beside text wrapped around it (32 px lines): the quote is
    # read as one block, not row by row with the text.
    text = [_line(400, 36 * r, 420, 32) for r in range(8)]
    quote = [
        (10.0, 20.0 + 56 * r, 280.0, 20.0 + 56 * r + h) for r, h in enumerate((40, 45, 51, 50))
    ]
    order = natural_order(text + quote)
    at = [order.index(i) for i in range(8, 12)]
    assert at == list(range(at[0], at[0] + 4))
    assert [i for i in order if i < 8] == list(range(8))


def test_a_pull_quote_whose_closing_mark_was_boxed_apart_is_read_whole() -> None:
    # The same quote beside wrapped text, its closing quotation mark boxed on its own after
    # the last line (a 14 px wide box): still one block, the mark with it.
    text = [_line(400, 36 * r, 420, 32) for r in range(8)]
    quote = [_line(10, 20 + 56 * r, 270, 48) for r in range(4)]
    mark = (285.0, 188.0, 299.0, 208.0)
    order = natural_order(text + quote + [mark])
    at = sorted(order.index(i) for i in range(8, 13))
    assert at == list(range(at[0], at[0] + 5))
    assert [i for i in order if i < 8] == list(range(8))


def test_author_blocks_over_wider_columns_are_read_before_them() -> None:
    # A paper's two author blocks (name, affiliation, e-mail; recorded from an engine-read
    # page, whose tall boxes leave 0.93 line heights of white under them), then the abstract
    # heading and two columns whose gutter is not the blocks': both authors come first.
    boxes = _recorded(
        """396 233 593 269 | 1079 233 1336 269 | 407 268 573 301 | 1114 269 1298 299
        1061 301 1346 337 | 269 304 714 338 | 886 369 1533 402 | 433 372 549 405
        878 402 1537 435 | 166 412 819 445 | 885 431 1535 469 | 159 443 819 476
        877 464 1532 501 | 165 473 816 506 | 885 498 1538 530 | 158 503 818 536
        878 530 1302 563 | 165 533 817 565 | 922 560 1535 597 | 158 564 818 597
        877 592 1529 627 | 158 594 817 627 | 158 626 819 658 | 878 626 1534 660
        166 656 818 689 | 878 657 1537 690 | 157 684 818 718 | 885 689 1539 721
        159 717 362 750 | 878 720 1534 753 | 885 750 1537 788 | 158 768 361 801
        879 785 1538 818"""
    )
    order = natural_order(boxes)
    assert order[:6] == [0, 2, 5, 1, 3, 4]
    assert order[6] == 7  # the abstract's heading, then its column


def test_columns_under_a_title_beside_an_infobox_are_read_column_by_column() -> None:
    # A title in large type over two columns of 12 prose lines, and a short infobox beside
    # them on the right: title, left column, right column, infobox.
    title = [(0.0, 0.0, 700.0, 40.0)]
    left = [_line(0, 60 + 30 * r, 330) for r in range(12)]
    right = [_line(370, 60 + 30 * r, 330) for r in range(12)]
    box = [_line(760, 60 + 30 * r, 150) for r in range(4)]
    assert natural_order(title + left + right + box) == list(range(29))


def test_a_footnote_in_smaller_type_follows_both_columns() -> None:
    # Two columns of 20 px lines; under the columns, after a paragraph break's white, a
    # footnote in 15 px type under the left column only (white of 0.9 lines above it).
    left = [_line(0, 30 * r, 380) for r in range(8)]
    right = [_line(420, 30 * r, 380) for r in range(8)]
    note = [_line(0, 8 * 30 - 10 + 18, 300, 15)]
    assert natural_order(left + right + note) == list(range(17))


def test_a_two_line_title_over_columns_is_not_read_into_them() -> None:
    # A title of two 40 px lines over three columns of prose, its last line just above the
    # columns' first row (a heading in the first column beside the others' first lines):
    # the title, then each column whole.
    title = [(100.0, 0.0, 800.0, 40.0), (150.0, 45.0, 750.0, 85.0)]
    columns = [[_line(10 + 300 * c, 95 + 30 * r, 270) for r in range(10)] for c in range(3)]
    columns[0][0] = _line(10, 95, 60)  # a short heading
    boxes = title + [b for col in columns for b in col]
    assert natural_order(boxes) == list(range(32))


def _float_beside_text() -> tuple[list[Box], Box]:
    """A chart floated left of a column of prose: its axis labels and a two-line caption
    beside the text's lines, the paragraph's short last line under the float."""
    labels = [_line(0, 0, 30), _line(10, 185, 20)]
    caption = [_line(40, 230, 170), _line(150, 258, 90)]
    text = [_line(420, 30 * r, 380) for r in range(12)]
    last = [_line(0, 362, 150)]
    return labels + caption + text + last, (40.0, 0.0, 360.0, 205.0)


def test_text_beside_a_figure_is_read_whole_and_runs_on_under_it() -> None:
    boxes, figure = _float_beside_text()
    order = natural_order(boxes, figures=[figure])
    # The figure's labels and caption (each whole, in either order), then the text, its last
    # line under the float included.
    assert sorted(order[:4]) == [0, 1, 2, 3] and order.index(3) == order.index(2) + 1
    assert order[4:] == list(range(4, 17))
    # Without the figure, the labels and the caption are short lines beside the text, read
    # row by row between its lines.
    without = natural_order(boxes)
    assert without[without.index(4) : without.index(4) + 12] != list(range(4, 16))


def test_a_logo_beside_an_address_changes_nothing() -> None:
    # A logo over an account number, beside an invoice's title and its label/value rows: the
    # page is read row by row, with or without the logo found.
    left = [_line(0, 80, 120), _line(0, 102, 200, 30)]
    right = [_line(400, 0, 400, 30), _line(400, 40, 350), _line(400, 80, 100)]
    right += [_line(700, 80, 100), _line(400, 102, 100), _line(700, 102, 100)]
    boxes = left + right
    logo = (0.0, 0.0, 100.0, 70.0)
    assert natural_order(boxes, figures=[logo]) == natural_order(boxes)


def test_a_cell_whose_text_wraps_is_read_whole_before_the_next_cell() -> None:
    # A letter's footer: three blocks on a grid row, the first wrapping onto a second line
    # that the cells beside it do not share.
    address = [_line(0, 0, 380), _line(0, 24, 200)]
    bank = [_line(410, 0, 250)]
    web = [_line(700, 0, 150)]
    assert natural_order(address + bank + web) == [0, 1, 2, 3]


def test_a_cell_that_wraps_onto_a_third_line_is_read_whole() -> None:
    # The same footer, its first block wrapping twice: the third line is asked of the
    # second (which fills the cell) while the row's first line counts the cells beside it.
    address = [_line(0, 0, 380), _line(0, 24, 390), _line(0, 48, 60)]
    bank = [_line(410, 0, 250)]
    web = [_line(700, 0, 150)]
    assert natural_order(address + bank + web) == [0, 1, 2, 3, 4]


def test_a_cell_that_wraps_a_long_word_short_of_its_edge_is_read_whole() -> None:
    # Ragged text leaves the white of the word it could not fit: the first block stops three
    # line heights short of the next, and its second line starts with a 70 px word.
    address = [_line(0, 0, 320), _line(0, 24, 90)]
    bank = [_line(380, 0, 250)]
    web = [_line(700, 0, 150)]
    texts = ["Shaw-King · 703 Carl Mews · Jonesshire", "W6T 0RW", "IBAN GB69", "oconnor.com"]
    assert natural_order(address + bank + web, texts=texts) == [0, 1, 2, 3]
    # Without the words the white says nothing, and the row is read across.
    assert natural_order(address + bank + web) == [0, 2, 3, 1]
    # A heading centred under the middle author block is no word of it (centred text wraps
    # to a line centred too, but so does a heading).
    authors = []
    for x in (0, 400, 800):
        authors += [_line(x + 90, 0, 120), _line(x, 24, 300)]
    authors.append(_line(510, 48, 80))
    names = ["Ann Lee", "a@example.org", "Bo Ng", "b@example.org", "Cy Po", "c@example.org"]
    assert natural_order(authors, texts=[*names, "Abstract"]) == [0, 2, 4, 1, 3, 5, 6]
    # The rule under a ruled table's row, found in pieces on a photograph (none across the
    # whole table), and a spanning label row under it, then the next row.
    row = [(136.0, 391.0, 374.0, 410.0)]
    row += [(x, 390.0, x + 60.0, 409.0) for x in (453.0, 550.0, 647.0, 724.0, 811.0, 900.0)]
    label = [(137.0, 418.0, 417.0, 437.0)]
    below = [(137.0, 446.0, 280.0, 465.0)]
    below += [(x, 446.0, x + 60.0, 465.0) for x in (453.0, 550.0, 647.0, 724.0, 811.0, 900.0)]
    words = ["Here think strategy NK-890", *"123456", "Several Prove Outside", "Machine", *"123456"]
    pieces = [(436.0, 630.0, 410.0), (132.0, 434.0, 412.0), (419.0, 969.0, 417.0)]
    table = row + label + below
    assert natural_order(table, texts=words)[:3] == [0, 7, 1]
    ruled = natural_order(table, rules=[*pieces, (130.0, 971.0, 441.0)], texts=words)
    assert ruled == list(range(15))


def test_a_row_with_empty_cells_under_a_short_label_stays_a_row() -> None:
    # A statement's rows: a label, then three values; a heading row with no values under the
    # last row is the next row, not the label's second line.
    rows = []
    for r in range(3):
        rows += [_line(0, 24 * r, 200), _line(500, 24 * r, 60), _line(650, 24 * r, 60)]
        rows += [_line(800, 24 * r, 60)]
    heading = [_line(0, 72, 120)]
    assert natural_order(rows + heading) == list(range(13))


def test_text_beside_a_float_that_starts_above_its_ink_is_read_with_its_column() -> None:
    # A paragraph across the page; then a diagram floated left whose box (its margin) starts
    # two lines above its ink: the text beside it starts there, in the right half, and is
    # read with the rest of its column, after the diagram's labels and caption (read where
    # the paragraph above ends).
    paragraph = [_line(0, 0, 800), _line(0, 30, 800), _line(0, 60, 500)]
    right = [_line(440, 90 + 30 * r, 360) for r in range(8)]
    labels = [_line(40, 160, 60), _line(160, 160, 60)]
    caption = [_line(20, 230, 300)]
    diagram = (20.0, 150.0, 400.0, 195.0)
    boxes = paragraph + right + labels + caption
    order = natural_order(boxes, figures=[diagram])
    assert order == [0, 1, 2, 11, 12, 13, 3, 4, 5, 6, 7, 8, 9, 10]


def test_a_float_is_read_where_the_text_beside_it_breaks() -> None:
    # A chart floated right of a paragraph that began above it at full width and runs on
    # beside it, then a new paragraph beside it, which runs on under it at full width: the
    # chart and its caption are read at the break between the two paragraphs.
    first = [_line(0, 0, 800), _line(0, 30, 800)]
    beside = [_line(0, 60 + 30 * r, 440) for r in range(6)]  # the break is after row 2
    beside[2] = _line(0, 120, 300)
    beside[3:] = [_line(0, 160 + 30 * r, 440) for r in range(3)]
    under = [_line(0, 250, 800), _line(0, 280, 300)]
    caption = [_line(500, 220, 280)]
    chart = (500.0, 60.0, 800.0, 200.0)
    boxes = first + beside + under + caption
    order = natural_order(boxes, figures=[chart])
    assert order == [0, 1, 2, 3, 4, 10, 5, 6, 7, 8, 9]


def test_a_chart_s_label_is_read_with_it_and_the_columns_under_it_whole() -> None:
    # A chart across the page with a short label under its right corner (an axis's last
    # tick), its caption under it, and two columns of prose under the caption: the label
    # belongs to the chart, so it neither starts a column of its own over the right column
    # nor makes the columns' rows read across.
    chart = (80.0, 0.0, 690.0, 150.0)
    label = [_line(590, 150, 40, 16)]
    caption = [_line(40, 176, 540, 18)]
    left = [_line(0, 230 + 26 * r, 360) for r in range(12)]
    right = [_line(380, 230 + 26 * r, 360) for r in range(12)]
    assert natural_order(label + caption + left + right, figures=[chart]) == list(range(26))


def test_the_labels_of_a_chart_drawn_in_pieces_are_read_together() -> None:
    # A bar chart found as three touching figures (its bars), each bar's name under it, and
    # a value label on the middle bar, between two paragraphs: one chart, its labels read
    # together, top to bottom and left to right.
    above = [_line(0, 0, 700), _line(0, 26, 120)]
    bars = [(100.0 + 150 * k, 80.0, 250.0 + 150 * k, 260.0) for k in range(3)]
    names = [_line(150 + 150 * k, 266, 50) for k in range(3)]
    value = [_line(310, 90, 30)]
    below = [_line(0, 320 + 26 * r, 700) for r in range(3)]
    boxes = above + names + value + below
    order = natural_order(boxes, figures=bars)
    assert order[:2] == [0, 1] and order[-3:] == [6, 7, 8]
    assert order[2:6] == [5, 2, 3, 4]


def test_a_short_footnote_under_the_first_column_is_read_after_the_columns() -> None:
    # Three columns of text running on from one to the next; under the first column's end a
    # rule and a one-line note (as tall as the text, as the detector's boxes often are), level
    # with the other columns' last lines; a page footer under the middle column.
    columns = [[_line(300 * c, 30 * r, 270) for r in range(9 if c == 0 else 10)] for c in range(3)]
    note = [_line(0, 300, 200)]
    footer = [_line(380, 345, 110)]
    rule = [(0.0, 240.0, 285.0)]
    boxes = [b for column in columns for b in column] + note + footer
    assert natural_order(boxes, rule) == list(range(31))
    # A rule in one column while the next column runs on below it is no footnotes' separator.
    columns[1] += [_line(300, 300 + 30 * r, 270) for r in range(3)]
    boxes = [b for column in columns for b in column] + note
    order = natural_order(boxes, rule)
    assert order[: order.index(9)] == [*range(9), len(boxes) - 1]


def test_blocks_on_a_grid_are_read_row_of_blocks_by_row_of_blocks() -> None:
    # Terms and their notes two by two: a label over a block of lines in each cell; the
    # right-hand block of the first row ends early, leaving a hole of three lines above the
    # second row, whose blocks start level with each other; the left column runs on into it
    # with no more white than a loose line space.
    def block(x: float, y: float, rows: int) -> list[Box]:
        return [_line(x, y, 200, 22)] + [_line(x, y + 26 + 26 * r, 280) for r in range(rows)]

    boxes = block(0, 0, 6) + block(340, 0, 2) + block(0, 189, 4) + block(340, 189, 3)
    assert natural_order(boxes) == list(range(len(boxes)))


def test_a_pull_quote_in_large_type_beside_the_text_is_read_whole() -> None:
    # Five lines of a quote in 30 px type beside a heading and a paragraph in 20 px type, on
    # their own line pitches: the quote, then the text, each whole.
    quote = [_line(0, 40 * r, 200, 30) for r in range(5)]
    heading = [_line(260, 0, 200, 22)]
    text = [_line(260, 32 + 26 * r, 400) for r in range(6)]
    assert natural_order(quote + heading + text) == list(range(12))


def test_a_pull_quote_whose_lines_differ_in_height_is_still_read_whole() -> None:
    # The detector's boxes of a quote's lines differ with their descenders (a line without
    # one is a fifth shorter): still one paragraph in display type, not a title.
    quote = [_line(0, 50 * r, 300, h) for r, h in enumerate((44.0, 50.0, 41.0))]
    text = [_line(400, -15 + 33 * r, 500, 29) for r in range(5)]
    assert natural_order(quote + text) == list(range(8))


def test_a_paragraph_s_last_line_over_a_pull_quote_stays_with_the_paragraph() -> None:
    # A paragraph across the page, its short last line a loose line space above a pull quote
    # (five lines in 30 px type) beside a heading and the text: the last line is the
    # paragraph's, not the quote's first, so the quote is read whole, then the text.
    paragraph = [_line(0, 0, 800), _line(0, 26, 800), _line(0, 52, 200)]
    quote = [_line(40, 92 + 36 * r, 260, 30) for r in range(5)]
    heading = [_line(340, 92, 300, 26)]
    text = [_line(340, 126 + 26 * r, 460) for r in range(6)]
    assert natural_order(paragraph + quote + heading + text) == list(range(15))


def test_pieces_of_a_line_split_at_a_wide_space_are_joined_and_cells_are_not() -> None:
    # A justified paragraph with one line cut at a wide word space (the lines around it run
    # across the white), and a table under a header spanning its two columns, whose cells
    # sit as far apart (the rows around each row have their cells' edges there).
    paragraph = [_line(0, 0, 380), _line(0, 30, 200), _line(235, 30, 145), _line(0, 60, 380)]
    table = [_line(0, 170, 380)]
    table += [_line(0, 200 + 30 * r, 200) for r in range(3)]
    table += [_line(235, 200 + 30 * r, 145) for r in range(3)]
    pieces = _pieces_of_lines(paragraph + table)
    assert [1, 2] in pieces
    assert all(len(p) == 1 for p in pieces if p != [1, 2])


def test_a_title_in_monospaced_type_cut_at_its_word_spaces_is_read_line_by_line() -> None:
    # A two-line title in 40 px monospaced type over three columns, which the detector cut
    # at word spaces 16 px wide (no line above or below runs across them, the title's lines
    # being ragged): the spaces are narrower than a word space in any type, so the pieces
    # are one line each, not three columns of a section of their own.
    title = [_line(0, 0, 400, 40), _line(416, 0, 200, 40), _line(632, 0, 80, 40)]
    title += [_line(0, 46, 160, 40), _line(176, 46, 80, 40)]
    columns = [_line(280 * c, 120 + 26 * r, 240) for c in range(3) for r in range(8)]
    assert natural_order(title + columns) == list(range(29))


def test_a_lead_s_last_line_cut_over_the_gutter_below_it_is_read_whole() -> None:
    # A lead paragraph across the page; the detector cut its last line at a word space (9 px,
    # under half a line) right over the gutter between the body and a side column of notes
    # in smaller type, whose heading starts just past it. The line above runs across the
    # space: the pieces are one line, read before the columns.
    lead = [_line(0, 0, 1000), _line(0, 26, 560), _line(569, 26, 120)]
    body = [_line(0, 60 + 26 * r, 550) for r in range(8)]
    notes = [_line(580, 60, 50)] + [_line(580, 86 + 22 * r, 400, 16) for r in range(8)]
    assert natural_order(lead + body + notes) == list(range(20))


def test_a_field_s_value_centred_on_two_lines_is_read_in_its_row() -> None:
    # Three rows of a form's fields (label, value, label, value); the second row's last
    # value wraps onto two lines centred on the row, its first line above the row's other
    # fields. It is read in its place, after the row's second label, not before the row.
    def fields(y: float, value: float) -> list[Box]:
        labels = [_line(0, y + 4, 80, 16), _line(460, y + 4, 90, 16)]
        return [labels[0], _line(120, y, 300), labels[1], _line(600, y, value)]

    wrapped = [_line(600, 40, 260), *fields(66, 60)]
    order = natural_order(fields(0, 200) + wrapped + fields(120, 180))
    assert order == [0, 1, 2, 3, 5, 6, 7, 4, 8, 9, 10, 11, 12]


def test_a_float_goes_to_a_paragraph_break_set_with_little_white() -> None:
    # Paragraphs set 0.7 of a line apart (a larger pitch, not a wider white than some line
    # spacing): a photo floated right of the second paragraph is read after the first one's
    # short last line, which lies above the photo, not between it and its paragraph.
    first = [_line(0, 0, 800), _line(0, 26, 800), _line(0, 52, 300)]
    second = [_line(0, 86 + 26 * r, 440) for r in range(4)] + [_line(0, 190, 200)]
    caption = [_line(500, 210, 280)]
    photo = (500.0, 90.0, 800.0, 200.0)
    order = natural_order(first + second + caption, figures=[photo])
    assert order == [0, 1, 2, 8, 3, 4, 5, 6, 7]


def test_a_chart_s_top_tick_label_under_the_prose_above_is_the_chart_s() -> None:
    # A paragraph across the page; under its last line, set in from the line's left edge,
    # the top tick label of a chart floated right; text beside the chart on the left. The
    # label is read with the chart's other labels, not as the paragraph's last line.
    prose = [_line(0, 0, 800), _line(0, 30, 800)]
    top_tick, bottom_tick = _line(515, 62, 30), _line(525, 210, 20)
    beside = [_line(0, 70 + 30 * r, 440) for r in range(6)]
    chart = (550.0, 75.0, 800.0, 225.0)
    boxes = [*prose, top_tick, bottom_tick, *beside]
    assert natural_order(boxes, figures=[chart]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_a_box_of_fields_beside_an_article_is_read_whole_and_the_article_too() -> None:
    # An article of 20 prose lines; beside its top, a box of three label/value fields whose
    # rows line up with the article's lines. The fields are cells among themselves, not
    # cells of the article's rows.
    article = [_line(0, 30 * r, 600) for r in range(20)]
    fields = [
        box for r in range(3) for box in (_line(700, 30 + 60 * r, 50), _line(780, 30 + 60 * r, 120))
    ]
    order = natural_order(article + fields)
    assert order == list(range(26)) or order == list(range(20, 26)) + list(range(20))


def _short_lines_in_rows() -> list[Box]:
    # Three narrow columns of short lines (the pieces the detector makes of narrow justified
    # lines, or a glossary's terms) on one baseline grid: they line up across the gutters
    # as a table's cells do.
    return [_line(300 * c, 30 * r, 100 + (r * 37 % 5) * 30) for c in range(3) for r in range(10)]


def test_columns_with_a_rule_down_each_gutter_are_read_column_by_column() -> None:
    boxes = _short_lines_in_rows()
    assert natural_order(boxes)[:3] == [0, 10, 20]
    rules = [(280.0, 0.0, 290.0), (580.0, 0.0, 290.0)]
    assert natural_order(boxes, uprights=rules) == list(range(30))


def test_a_table_s_grid_of_rules_is_still_read_row_by_row() -> None:
    # The same lines with rules between the rows too: a table's cells.
    boxes = _short_lines_in_rows()
    uprights = [(280.0, 0.0, 290.0), (580.0, 0.0, 290.0)]
    rules = [(0.0, 860.0, 30.0 * r - 5) for r in range(1, 10)]
    assert natural_order(boxes, rules=rules, uprights=uprights)[:3] == [0, 10, 20]
    # A rule at the edge of a box holding two lines beside the text is no column rule.
    assert natural_order(boxes, uprights=[(280.0, 0.0, 50.0)])[:3] == [0, 10, 20]


def test_narrow_columns_of_text_on_a_baseline_grid_are_columns_not_cells() -> None:
    # Four narrow columns of twenty ragged lines, each line 6 to 7.5 heights long (too short
    # to count as prose) and filling its column: a column of text, not a table's column.
    boxes = [_line(300 * c, 30 * r, 150 - (r * 37 % 5) * 6) for c in range(4) for r in range(20)]
    assert natural_order(boxes) == list(range(80))


def test_a_centred_subtitle_s_last_line_is_not_carried_into_the_columns() -> None:
    # A two-line subtitle over three columns, its short last line centred a third of a line
    # above them and across the second gutter: it stays with the subtitle, and the columns
    # keep that gutter.
    subtitle = [_line(100, -64, 700), _line(330, -28, 290)]
    columns = [_line(300 * c, 30 * r, 260 - (r * 37 % 5) * 10) for c in range(3) for r in range(20)]
    assert natural_order(subtitle + columns) == list(range(62))


def test_a_float_wider_than_the_text_is_not_read_inside_the_paragraph_above_it() -> None:
    # A paragraph whose first line lies above a photo floated right, the photo reaching past
    # the text's right edge: the first line is full (it runs to the text's edge, not the
    # photo's), so the paragraph runs on into the column beside the photo and the caption
    # is read after it, not after its first line.
    above = [_line(0, -60, 900), _line(0, -30, 500)]
    paragraph = [_line(0, 10 + 30 * r, 440) for r in range(6)] + [_line(0, 190, 200)]
    after = [_line(0, 230, 900), _line(0, 260, 900)]
    caption = [_line(480, 170, 300)]
    photo = (480.0, 75.0, 900.0, 160.0)
    order = natural_order(above + paragraph + after + caption, figures=[photo])
    assert order == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 9, 10]


def test_a_float_beside_a_paragraph_that_runs_on_under_it_waits_for_its_end() -> None:
    # A paragraph that starts above a photo floated right, runs on beside it and then under
    # it at full width: no break beside the photo is a paragraph's, so the photo's caption
    # is read after the paragraph ends under it, not inside it.
    above = [_line(0, -70, 900), _line(0, -40, 500)]
    paragraph = [_line(0, 30 * r, 440) for r in range(7)] + [_line(0, 210, 900), _line(0, 240, 300)]
    after = [_line(0, 290, 900), _line(0, 320, 500)]
    caption = [_line(480, 160, 300)]
    photo = (480.0, 45.0, 900.0, 150.0)
    order = natural_order(above + paragraph + after + caption, figures=[photo])
    assert order == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 11, 12]


def _ragged_text_beside_a_photo() -> tuple[list[Box], list[str], Box]:
    # Text set ragged right beside a photo floated right, paragraphs marked by nothing but
    # their short last lines: a paragraph's end, then a new paragraph that starts beside the
    # photo and goes on under it at full width; a last paragraph after it.
    beside = [_line(0, 30 * r, w) for r, w in enumerate((430, 400, 440, 260, 410, 420, 370))]
    under = [_line(0, 210, 900), _line(0, 240, 300), _line(0, 290, 900), _line(0, 320, 300)]
    caption = [_line(480, 150, 300)]
    texts = ["The photo beside the text", "shows what this paragraph", "says of it and", "ends."]
    texts += ["A new paragraph starts", "beside the caption and", "its last line beside"]
    texts += ["goes on under the photo", "and ends here.", "Another one starts", "here."]
    texts += ["Figure 3: What it shows"]
    return beside + under + caption, texts, (480.0, 120.0, 900.0, 145.0)


def test_a_float_is_not_read_before_a_line_that_goes_on_with_a_sentence() -> None:
    # The last line beside the photo stops short, as ragged lines do, so only the words tell
    # that the paragraph goes on under the photo (its next line starts with a small letter):
    # the photo's caption is read after that paragraph, not inside it.
    boxes, texts, photo = _ragged_text_beside_a_photo()
    assert natural_order(boxes, figures=[photo], texts=texts) == [*range(9), 11, 9, 10]
    # Without the words, the float goes to the end of the text beside it.
    assert natural_order(boxes, figures=[photo]) == [*range(7), 11, 7, 8, 9, 10]
    # A line that starts a sentence there starts a paragraph.
    texts[7] = "Goes on under the photo"
    assert natural_order(boxes, figures=[photo], texts=texts) == [*range(7), 11, 7, 8, 9, 10]


def test_a_pull_quote_beside_a_paragraph_is_read_where_the_paragraph_ends() -> None:
    # A heading and the first lines of a paragraph beside a pull quote in large type; the
    # paragraph goes on under both at full width: the quote is read before the heading,
    # not between the paragraph's lines.
    heading = [_line(0, 0, 400, 26)]
    beside = [_line(0, 40 + 26 * r, 440) for r in range(3)]
    under = [_line(0, 130 + 26 * r, 900) for r in range(3)]
    quote = [_line(520, 10 + 40 * r, 300, 30) for r in range(2)]
    texts = ["Friend Threat Road", "We box happy popular", "flow piece. Animal", "sister new if"]
    texts += ["check despite coach remain", "sure affect food", "face five."]
    texts += ["\u201cSit quality should staff", "food pretty adult fly.\u201d"]
    order = natural_order(heading + beside + under + quote, texts=texts)
    assert order == [7, 8, *range(7)]


def test_text_wrapped_in_a_strip_beside_a_diagram_is_a_column_not_cells() -> None:
    # A diagram of boxes (its words inside) and its caption, with a paragraph wrapped beside
    # it a word to a line, going on under both: the strip is a column of text read whole,
    # not a form's fields read across with the diagram's rows.
    diagram = (0.0, 0.0, 600.0, 60.0)
    words = [_line(40, 20, 50), _line(300, 20, 60)]
    caption = [_line(0, 90, 400)]
    strip = [_line(700, 26 * r, (60, 90, 70, 80, 60, 75)[r]) for r in range(6)]
    under = [_line(0, 170 + 26 * r, 800) for r in range(2)]
    texts = ["give", "pol", "Figure 2 - Rise perhaps feel", "Act", "control", "during", "each"]
    texts += ["plan", "phone", "charge show crime century", "management political."]
    order = natural_order(words + caption + strip + under, figures=[diagram], texts=texts)
    assert order[:3] == [0, 1, 2] and order[3:] == list(range(3, 11))


def test_a_box_beside_a_sentence_that_goes_on_under_it_is_read_after_the_sentence() -> None:
    # A heading and the first lines of a paragraph beside a quote set in the text's type; the
    # paragraph's sentence goes on under both at full width. Read column by column, the quote
    # would fall inside the sentence: the words show where the sentence goes on, so the
    # quote is read after the paragraph ends.
    heading = [_line(0, 0, 400, 26)]
    beside = [_line(0, 40 + 26 * r, 440) for r in range(3)]
    under = [_line(0, 130, 900), _line(0, 156, 300), _line(0, 200, 900)]
    quote = [_line(520, 40 + 26 * r, 300) for r in range(3)]
    texts = ["Friend Threat Road", "We box happy popular even", "flow piece. Animal improve"]
    texts += ["sister, new if", "check despite coach remain sure affect food face", "five."]
    texts += ["A new paragraph starts here and goes on"]
    texts += ["\u201cSit quality should staff", "food pretty adult fly and", "run away.\u201d"]
    boxes = heading + beside + under + quote
    assert natural_order(boxes) == [0, 1, 2, 3, 7, 8, 9, 4, 5, 6]
    assert natural_order(boxes, texts=texts) == [0, 1, 2, 3, 4, 5, 7, 8, 9, 6]
    # A sentence that ended beside the quote leaves it where the columns put it.
    texts[3], texts[4] = "sister, new house.", "Check despite coach remain sure affect"
    assert natural_order(boxes, texts=texts) == [0, 1, 2, 3, 7, 8, 9, 4, 5, 6]


def test_a_line_goes_on_with_a_sentence_when_it_starts_with_a_word_in_small_letters() -> None:
    assert _goes_on("goes on under the photo") and _goes_on("w domu i w szkole")
    assert _goes_on("\u00e9t\u00e9 comme") and _goes_on("\u0438 \u0434\u0430\u043b\u0435\u0435")
    # A capital, a digit, a quote, a list's marker or a footnote's letter before a capital,
    # and scripts without case start nothing that goes on.
    for text in ["A new paragraph", "12 kg", "\u00abAzzurro in", "o Item one", "a Process"]:
        assert not _goes_on(text), text
    assert not _goes_on("\u65e5\u672c\u8a9e\u306e\u6587")
    assert not _goes_on("") and not _goes_on("  ")


def test_a_figure_s_caption_is_read_with_it_not_in_the_paragraph_that_wraps_under_it() -> None:
    # A photographed page's chart floated right, its tick labels under it and its caption
    # under them; the text beside it breaks for a paragraph level with the caption, and that
    # paragraph runs on under the chart across the page. The caption goes with the chart.
    rows = """181 485 1814 522|181 541 1781 578|181 597 1757 634|181 653 1689 690|181 709 948 746
    1224 1182 1291 1211|1381 1182 1448 1211|1538 1182 1604 1211|1684 1182 1772 1211
    1119 794 1169 824|1153 1155 1169 1185|1083 1247 1809 1281
    181 786 999 822|181 841 997 878|181 897 648 934|181 974 945 1010|181 1030 939 1066
    181 1086 1015 1122|181 1141 1017 1178|181 1197 999 1234|181 1274 1027 1311
    181 1330 991 1366|181 1386 1819 1422|181 1441 1809 1478|181 1497 1802 1534"""
    boxes = _recorded(rows)
    texts = ["Conference", "hand", "amount", "although", "approach", "2010", "2011", "2012"]
    texts += ["quality", "200", "0", "Figure 5. Physical woman", "East", "region", "night"]
    texts += ["Build", "when", "politics", "along.", "stage", "Shoulder", "not whole"]
    texts += ["attorney", "Suggest", "write"]
    chart = (1176.0, 839.0, 1808.0, 1175.0)
    assert natural_order(boxes, figures=[chart], texts=texts) == [
        *range(5),
        9,
        10,
        5,
        6,
        7,
        8,
        11,
        *range(12, 25),
    ]


def test_a_logo_s_caption_is_not_the_title_under_it() -> None:
    # An invoice's logo, its company's name beside it and the address at the right, and the
    # title "Invoice" in large type under the logo: the title follows the header, it is no
    # caption read with the logo before the company's name.
    rows = """308 192 617 243|1246 161 1458 182|1253 187 1457 208|1266 213 1457 234
    1257 239 1457 260|183 303 339 350|183 374 297 396|183 399 393 422|183 425 385 447"""
    boxes = _recorded(rows)
    texts = ["Moss-Gibson", "Studio 29K Sharon Mills", "Cookemouth", "Phone", "eparsons"]
    texts += ["Invoice", "Moss-Gibson", "Studio 29K Sharon Mills", "Cookemouth"]
    logo = (187.0, 172.0, 285.0, 272.0)
    assert natural_order(boxes, figures=[logo], texts=texts) == list(range(9))


def test_a_figure_among_rows_is_read_where_the_text_breaks_not_inside_a_paragraph() -> None:
    # A photo with its caption floated right of a paragraph, a heading and another paragraph,
    # and a chart under them that overlaps the photo's caption's rows: no gutter runs down
    # the section, which is read row by row. The photo's top lies a few pixels under the
    # paragraph's first line; it is read at the break before that paragraph, not after its
    # first line.
    rows = """196 594 1504 637|1547 1396 2039 1430|196 659 1212 702|196 703 1225 746
    196 747 1209 790|196 791 1191 834|196 835 1186 878|196 879 1198 922|196 923 289 966
    196 991 1039 1049|196 1060 1220 1103|196 1104 1150 1147|196 1148 1222 1191
    196 1192 1208 1235|196 1236 1233 1279|196 1280 1124 1323|196 1324 311 1367
    443 2046 485 2079|570 2046 628 2079|696 2046 774 2079|833 2046 908 2079
    977 2046 1036 2079|1113 2046 1170 2079|354 1404 384 1438|369 2017 384 2051
    334 2113 1202 2146|196 2211 2245 2254|196 2255 2269 2298"""
    boxes = _recorded(rows)
    texts = ["Give people", "Figure 6. Color", "Wide some score", "beyond figure", "Finally"]
    texts += ["bill site", "policy sport", "appear", "tough.", "Government option"]
    texts += ["Measure power", "movement option", "mouth quality", "social million."]
    texts += ["often, we", "Green establish", "college.", "cup", "2011", "behavi", "curren"]
    texts += ["2014", "class", "50", "0", "Figure 7. Price", "Rich reveal", "usually owner"]
    photo = (1269.0, 671.0, 2316.0, 1383.0)
    chart = (392.0, 1427.0, 1213.0, 2037.0)
    assert natural_order(boxes, figures=[photo, chart], texts=texts) == [
        *range(17),
        23,
        24,
        17,
        18,
        19,
        20,
        21,
        22,
        25,
        26,
        27,
    ]


def test_a_pull_quote_under_a_paragraph_s_last_line_is_still_read_whole() -> None:
    # A paragraph's short last line over a pull quote in large type, a heading and its
    # paragraph beside the quote, and the text on across the page under both: the last line
    # in the text's type over the quote does not make the quote's lines cells of a table.
    rows = """814 1729 1344 1778|814 1827 1196 1908|814 1912 1125 1993|814 1997 1187 2077
    814 2081 1150 2162|814 2166 1372 2247|814 2250 1031 2331|1452 1809 1989 1861
    1452 1880 1930 1929|1452 1932 2137 1982|1452 1985 2073 2034|1452 2037 2074 2086
    1452 2090 1999 2139|1452 2142 2133 2191|1452 2195 2153 2244|1452 2247 2125 2296
    1452 2300 2106 2349|1452 2352 2050 2401|814 2405 2014 2454"""
    boxes = _recorded(rows)
    assert natural_order(boxes) == list(range(19))


def test_a_pull_quote_a_third_larger_than_the_text_is_read_whole() -> None:
    # A quote in italic a third larger than the text, beside the paragraph it floats in.
    rows = """188 1933 849 1963|829 2010 1159 2051|829 2064 1146 2104|829 2117 1138 2157
    188 1988 761 2018|188 2026 689 2056|188 2064 677 2094|188 2103 726 2133
    188 2141 718 2171|188 2179 702 2209|188 2217 1172 2247|188 2255 912 2286"""
    boxes = _recorded(rows)
    order = natural_order(boxes)
    assert order[order.index(1) : order.index(1) + 3] == [1, 2, 3]
    assert [i for i in order if i not in (1, 2, 3)] == [0, *range(4, 12)]


def test_blocks_of_one_size_on_a_grid_are_read_row_of_blocks_by_row_of_blocks() -> None:
    # A glossary two by two: each block a term and three lines, every block level with the
    # one beside it and no white to tell a grid from columns but that.
    blocks = []
    for top in (0.0, 110.0):
        for left in (0.0, 400.0):
            blocks += [
                (left, top + 26.0 * r, left + 300.0, top + 26.0 * r + 20.0) for r in range(4)
            ]
    assert natural_order(blocks) == list(range(16))
    # Columns whose paragraphs start at different heights are columns.
    left = [
        (0.0, 26.0 * r + 14.0 * (r >= 3), 300.0, 26.0 * r + 14.0 * (r >= 3) + 20) for r in range(8)
    ]
    right = [
        (400.0, 26.0 * r + 14.0 * (r >= 5), 700.0, 26.0 * r + 14.0 * (r >= 5) + 20)
        for r in range(8)
    ]
    assert natural_order(left + right) == list(range(16))


def test_a_form_s_values_in_larger_type_beside_their_labels_are_fields() -> None:
    # A form's section: labels in small type, their values a quarter larger, two fields a row.
    # The values are no pull quote (no prose beside them): the fields are read row by row.
    rows = """115 224 211 242|249 218 312 238|663 224 755 242|786 218 839 238
    115 263 227 280|249 254 369 278|663 263 764 280|786 254 1038 278"""
    boxes = _recorded(rows)
    assert natural_order(boxes) == list(range(8))


def test_a_company_s_name_on_two_lines_in_large_type_is_read_before_its_address() -> None:
    # A scanned invoice's header: the name in type twice the address's, wrapped onto two
    # lines beside a logo's stray mark, the address in six short lines at the right.
    name = [(292.0, 90.0, 955.0, 152.0), (294.0, 172.0, 521.0, 246.0)]
    address = [(1383.0, 80.0, 1631.0, 112.0), (1377.0, 113.0, 1634.0, 146.0)]
    address += [(1332.0, 144.0, 1628.0, 176.0), (1568.0, 174.0, 1633.0, 212.0)]
    address += [(1316.0, 207.0, 1632.0, 244.0), (1480.0, 240.0, 1635.0, 276.0)]
    title, mark = [(185.0, 315.0, 341.0, 359.0)], [(188.0, 181.0, 200.0, 204.0)]
    texts = ["Wheeler, Collins and", "Hartley", "50 Thomas Gardens", "Lyonsfort CR8 3ZR"]
    texts += ["Phone: +44(0)191 496", "0953", "psullivan@example.com", "barry.info"]
    order = natural_order(name + address + title + mark, texts=[*texts, "INVOICE", "D"])
    assert [i for i in order if i != 9] == list(range(9))
