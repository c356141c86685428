"""Paragraph roles (:mod:`emulator.structure.roles`) on hand-made pages: a report page, a title
page, a letter, an invoice and a three-page document with running heads and page numbers."""

from __future__ import annotations

import pytest

from emulator.structure.roles import (
    PageParagraphs,
    Paragraph,
    Role,
    is_page_number,
    paragraph_roles,
)

W, H = 850.0, 1100.0  # US Letter at 100 dpi, in pixels
BODY = 14.0  # body line height


def para(text: str, x0: float, y0: float, x1: float, height: float = BODY) -> Paragraph:
    """A paragraph of ``text``'s lines (split on "\\n"), each ``height`` tall, from ``y0`` down."""
    lines = text.count("\n") + 1
    return Paragraph(text, (x0, y0, x1, y0 + lines * height * 1.2), height, lines)


def body(y0: float, lines: int = 6, x0: float = 80, x1: float = 770) -> Paragraph:
    text = "\n".join(f"Body text of the report that runs on, line {k}." for k in range(lines))
    return para(text, x0, y0, x1)


def roles_of(*pages: PageParagraphs) -> list[list[Role | None]]:
    return paragraph_roles(list(pages))


def report_page(number: int, *, title: bool = False) -> PageParagraphs:
    """A report page: running head, (title), numbered headings, body, footnotes, page number."""
    paras = [para("Annual Report 2024", 80, 40, 250, 11)]
    y = 90.0
    if title:
        paras.append(para("A Study of Rivers", 80, y, 500, 30))
        y += 60
    paras += [
        para(f"{number}.1 Methods", 80, y, 260, 18),
        body(y + 32),
        para(f"{number}.2 Results", 80, y + 180, 260, 18),
        body(y + 212, 10),
        body(y + 400, 12),
        para("1 The survey ran from May to June in three districts.", 80, 960, 600, 11),
        para("2 Figures are rounded to the nearest tenth.", 80, 976, 500, 11),
        para(str(number + 2), 415, 1040, 435, 11),
    ]
    return PageParagraphs(W, H, paras)


def test_report_page_roles() -> None:
    page = report_page(1, title=True)
    assert roles_of(page) == [
        [
            "pageHeader",
            "title",
            "sectionHeading",
            None,
            "sectionHeading",
            None,
            None,
            "footnote",
            "footnote",
            "pageNumber",
        ]
    ]


def test_title_only_on_the_first_page_and_once() -> None:
    first, second = report_page(1, title=True), report_page(2, title=True)
    roles = roles_of(first, second)
    assert roles[0].count("title") == 1
    assert "title" not in roles[1]
    # The second page's large line is still a heading-sized line that introduces text.
    assert roles[1][1] == "sectionHeading"


def test_title_page_takes_the_largest_text_near_the_top() -> None:
    page = PageParagraphs(
        W,
        H,
        [
            para("Quarterly Review", 80, 120, 600, 40),
            para("Prepared for the board", 80, 180, 400, 20),
            body(260, 8),
            body(420, 8),
        ],
    )
    [roles] = roles_of(page)
    assert roles[0] == "title"
    assert roles[1] != "title"


def test_no_title_without_text_clearly_larger_than_the_body() -> None:
    page = PageParagraphs(W, H, [para("Minutes", 80, 100, 200, 16), body(130), body(260)])
    [roles] = roles_of(page)
    assert "title" not in roles


def test_letter_address_block_is_not_a_title_or_heading() -> None:
    page = PageParagraphs(
        W,
        H,
        [
            para("Harbour Supplies Ltd", 80, 60, 420, 32),  # letterhead
            para("12 Quay Street\nBristol BS1 4DJ\nTel 0117 496 0000", 520, 140, 770),
            para("Ms J. Rivers\n4 Mill Lane\nBath BA1 1AA", 80, 220, 300),
            para("3 March 2024", 600, 330, 770),
            para("Subject: Your order 4471", 80, 380, 400),
            para("Dear Ms Rivers,", 80, 420, 260),
            body(450, 8),
            body(600, 6),
            para("Yours sincerely,", 80, 720, 260),
            para("Jane Hook", 80, 750, 260, 30),  # script signature
            para("Jane Hook\nSales Manager", 80, 800, 260),
            para("Harbour Supplies Ltd · 12 Quay Street · Bristol", 200, 1040, 650, 10),
        ],
    )
    [roles] = roles_of(page)
    assert roles[0] == "title"
    assert roles[1] is None and roles[2] is None  # addresses
    assert roles[4] == "sectionHeading"  # the subject line
    assert roles[9] is None  # the large signature is neither a title nor a heading
    assert roles[11] == "pageFooter"


def test_invoice_cells_labels_and_totals_are_body() -> None:
    rows = []
    y = 300.0
    for k in range(4):
        rows += [
            para(f"Widget {k}", 80, y, 250),
            para("2", 500, y, 512),
            para("12.50", 600, y, 650),
            para("25.00", 720, y, 770),
        ]
        y += 22
    page = PageParagraphs(
        W,
        H,
        [
            para("Northwind Traders", 80, 50, 400, 30),
            para("INVOICE", 80, 120, 220, 24),
            para("Invoice number:", 520, 170, 640),
            para("2024-118", 700, 170, 770),
            para("Description", 80, 270, 200, 16),
            para("Qty", 490, 270, 520, 16),
            para("Price", 590, 270, 650, 16),
            para("Amount", 700, 270, 770, 16),
            *rows,
            para("Total", 600, 420, 650, 17),
            para("100.00", 710, 420, 770, 17),
            para("Payment terms", 80, 470, 260, 17),
            para("Payable within 30 days of the invoice date to the account below.", 80, 495, 700),
        ],
    )
    [roles] = roles_of(page)
    assert roles[0] == "title"
    cells = roles[2 : 8 + len(rows) + 2]
    assert all(role is None for role in cells), cells
    assert roles[-2] == "sectionHeading"  # "Payment terms", taller, above its text


def test_three_page_document_repeated_heads_and_page_numbers() -> None:
    def page(n: int) -> PageParagraphs:
        return PageParagraphs(
            W,
            H,
            [
                # Set larger than a lone head may be, and a footer that reads like a
                # sentence: only their recurrence on every page makes them furniture.
                para("Acme Corp Confidential", 80, 50, 330, BODY * 1.2),
                body(100, 20),
                body(480, 20),
                para(f"Page {n} of 3", 380, 1050, 470),
                para("Copyright Acme Corp 2024. All rights reserved.", 500, 1050, 770),
            ],
        )

    roles = roles_of(page(1), page(2), page(3))
    assert roles_of(page(1))[0][0] != "pageHeader"  # alone, the head is not furniture
    assert roles_of(page(1))[0][4] is None
    for page_roles in roles:
        assert page_roles[0] == "pageHeader"
        assert page_roles[3] == "pageNumber"
        assert page_roles[4] == "pageFooter"
        assert page_roles[1] is None and page_roles[2] is None


def test_body_lines_at_the_top_alone_are_not_headers_without_recurrence() -> None:
    # A page's first line running on from the page before, and a sentence: body text.
    def page(first: str) -> PageParagraphs:
        return PageParagraphs(W, H, [para(first, 80, 50, 700), body(80, 20)])

    roles = roles_of(
        page("and so the rivers rise in spring"), page("Lakes freeze in every cold winter.")
    )
    assert roles == [[None, None], [None, None]]


def test_numbered_list_at_the_foot_is_not_footnotes() -> None:
    page = PageParagraphs(
        W,
        H,
        [
            body(100, 30),
            para("1 Gather the samples from every site.", 80, 900, 600),
            para("2 Label them with the date and place.", 80, 920, 600),
            body(945, 3),
        ],
    )
    [roles] = roles_of(page)
    assert "footnote" not in roles


def test_sentences_and_labels_are_not_headings() -> None:
    page = PageParagraphs(
        W,
        H,
        [
            para("This short line ends with a period.", 80, 100, 400, 18),
            body(130),
            para("Name:", 80, 260, 140, 18),
            body(290),
            para("“A pulled quote in large type”", 80, 420, 400, 22),
            body(460),
        ],
    )
    [roles] = roles_of(page)
    assert roles == [None] * 6


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", True),
        ("- 3 -", True),
        ("Page 3", True),
        ("Page 3 of 10", True),
        ("Seite 12", True),
        ("iv", True),
        ("3 | Annual Report", False),
        ("Civic", False),
        ("2024 Annual Report", False),
    ],
)
def test_page_number_shapes(text: str, expected: bool) -> None:
    assert is_page_number(text) is expected


def test_units_do_not_matter() -> None:
    """The same report page in inches gets the same roles as in pixels."""
    pixels = report_page(1, title=True)
    scale = 1 / 100
    inches = PageParagraphs(
        W * scale,
        H * scale,
        [
            Paragraph(
                p.text,
                (p.box[0] * scale, p.box[1] * scale, p.box[2] * scale, p.box[3] * scale),
                p.line_height * scale,
                p.lines,
            )
            for p in pixels.paragraphs
        ],
    )
    assert roles_of(inches) == roles_of(pixels)


def test_empty_input() -> None:
    assert paragraph_roles([]) == []
    assert paragraph_roles([PageParagraphs(W, H, [])]) == [[]]
