"""Wire models against the contract examples and Microsoft's own (msrest) models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.cognitiveservices.vision.computervision import models as official_models
from msrest import Deserializer
from pydantic import ValidationError

from ocr_sdk import (
    AnalyzeResult,
    Line,
    OperationStatus,
    Page,
    ReadOperationResult,
    ReadResult,
    TextStyleName,
    TextUnit,
    Word,
)
from ocr_sdk._base_client import _query, operation_id_from_location

from .conftest import EXAMPLES, OPERATION_ID, load_example, succeeded_body

EXAMPLE_NAMES = sorted(path.name for path in EXAMPLES.glob("*.json"))


def test_all_three_contract_examples_are_found() -> None:
    # Guards the path arithmetic: a wrong path would make the parametrised tests vanish.
    assert EXAMPLE_NAMES == [
        "SuccessfulGetReadResult.json",
        "SuccessfulReadWithStream.json",
        "SuccessfulReadWithUrl.json",
    ]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_validates_and_agrees_with_the_sdk(name: str) -> None:
    example = load_example(name)
    for status, response in example["responses"].items():
        if "body" in response:
            result = ReadOperationResult.model_validate(response["body"])
            assert result.status == OperationStatus.SUCCEEDED
            assert json.dumps(result.to_wire()) == json.dumps(response["body"])
        # The 202 examples spell the key "header" and name the header either way.
        headers = response.get("headers") or response.get("header") or {}
        location = next(
            (v for k, v in headers.items() if k.lower() in ("operation-location", "location")),
            None,
        )
        if status == "202":
            assert location is not None
            assert operation_id_from_location(location) == example["parameters"].get(
                "operationId", OPERATION_ID
            )
    params = example["parameters"]
    if "Pages" in params:
        query = _query(
            language=params.get("language"),
            pages=params["Pages"],
            model_version=None,
            reading_order=None,
        )
        assert query == "language=en&pages=2,3"


def test_round_trip_is_exact_json_including_integer_types() -> None:
    body = succeeded_body()
    result = ReadOperationResult.model_validate_json(json.dumps(body))
    dumped = result.model_dump(by_alias=True, exclude_unset=True)
    # json.dumps distinguishes 600 from 600.0, which == on dicts would not.
    assert json.dumps(dumped) == json.dumps(body)
    assert json.dumps(result.to_wire()) == json.dumps(body)
    page = result.analyze_result.read_results[0]  # type: ignore[union-attr]
    assert isinstance(page.width, int) and page.width == 600
    assert isinstance(page.angle, float) and page.angle == 49.59


def test_fields_are_typed_with_pythonic_names() -> None:
    result = ReadOperationResult.model_validate(succeeded_body())
    assert result.created_date_time == "2019-10-03T14:32:04.236Z"
    assert result.last_updated_date_time == "2019-10-03T14:38:14.852Z"
    assert result.created_at == datetime(2019, 10, 3, 14, 32, 4, 236000, tzinfo=UTC)
    analyze = result.analyze_result
    assert analyze is not None
    assert (analyze.version, analyze.model_version) == ("v3.2", "2021-04-12")
    assert analyze.pages is analyze.read_results
    page = analyze.read_results[0]
    assert (page.page, page.language, page.unit) == (1, "en", TextUnit.PIXEL)
    line = page.lines[0]
    assert line.bounding_box == [202, 618, 2047, 643, 2046, 840, 200, 813]
    assert line.appearance is not None and line.appearance.style is not None
    assert line.appearance.style.name == TextStyleName.OTHER
    assert line.appearance.style.confidence == 0.995
    assert [word.text for word in line.words] == ["Our", "greatest", "glory", "is", "not"]
    assert line.words[0].confidence == 0.164
    assert page.lines[2].language == "es"


def test_models_match_the_official_client_field_by_field() -> None:
    body = succeeded_body()
    deserialize = Deserializer(  # type: ignore[no-untyped-call]
        {name: cls for name, cls in vars(official_models).items() if isinstance(cls, type)}
    )
    official = deserialize("ReadOperationResult", body)
    ours = ReadOperationResult.model_validate(body)
    assert ours.status == official.status.value
    assert ours.created_date_time == official.created_date_time
    assert ours.analyze_result is not None
    assert ours.analyze_result.model_version == official.analyze_result.model_version
    for our_page, their_page in zip(
        ours.analyze_result.read_results, official.analyze_result.read_results, strict=True
    ):
        assert our_page.page == their_page.page
        assert our_page.unit == their_page.unit.value
        assert our_page.width == their_page.width and our_page.angle == their_page.angle
        for our_line, their_line in zip(our_page.lines, their_page.lines, strict=True):
            assert our_line.text == their_line.text
            assert our_line.bounding_box == their_line.bounding_box
            assert our_line.language == their_line.language
            assert our_line.appearance is not None and our_line.appearance.style is not None
            assert our_line.appearance.style.name == their_line.appearance.style.name
            assert [(w.text, w.bounding_box, w.confidence) for w in our_line.words] == [
                (w.text, w.bounding_box, w.confidence) for w in their_line.words
            ]


def test_text_is_every_line_of_every_page_in_order() -> None:
    operation = ReadOperationResult.model_validate(
        {
            "status": "succeeded",
            "analyzeResult": {
                "version": "v3.2",
                "modelVersion": "latest",
                "readResults": [
                    {"page": 1, "lines": [{"text": "a"}, {"text": "b c"}]},
                    {"page": 2, "lines": []},
                    {"page": 3, "lines": [{"text": "d"}]},
                ],
            },
        }
    )
    result = ReadResult.from_operation("op", operation)
    assert result.text == "a\nb c\nd"
    assert [page.page for page in result.pages] == [1, 2, 3]
    assert result.pages[0].text == "a\nb c"
    assert operation.analyze_result is not None and operation.analyze_result.text == result.text
    assert (result.operation_id, result.model_version) == ("op", "latest")
    assert result.operation is operation


def test_text_of_the_contract_example() -> None:
    result = ReadResult.from_operation(
        OPERATION_ID, ReadOperationResult.model_validate(succeeded_body())
    )
    assert result.text.splitlines() == [
        "Our greatest glory is not",
        "but in rising every time we fall",
        "Viva la vida",
        "in never failing ,",
    ]


def test_succeeded_without_analyze_result_gives_no_pages() -> None:
    result = ReadResult.from_operation("op", ReadOperationResult(status="succeeded"))
    assert result.pages == [] and result.text == ""


def test_unknown_fields_are_kept_and_written_back() -> None:
    body: dict[str, Any] = {
        "status": "succeeded",
        "futureTopLevel": {"x": 1},
        "analyzeResult": {
            "version": "v3.2",
            "modelVersion": "latest",
            "readResults": [
                {
                    "page": 1,
                    "angle": 0,
                    "width": 1,
                    "height": 1,
                    "unit": "pixel",
                    "newPageField": True,
                    "lines": [
                        {
                            "boundingBox": [0, 0, 1, 0, 1, 1, 0, 1],
                            "text": "x",
                            "words": [
                                {"boundingBox": [0] * 8, "text": "x", "confidence": 1, "k": "v"}
                            ],
                            "spans": [{"offset": 0}],
                        }
                    ],
                }
            ],
        },
    }
    result = ReadOperationResult.model_validate(body)
    assert result.model_extra == {"futureTopLevel": {"x": 1}}
    page = result.analyze_result.read_results[0]  # type: ignore[union-attr]
    assert page.model_extra == {"newPageField": True}
    assert page.lines[0].model_extra == {"spans": [{"offset": 0}]}
    assert page.lines[0].words[0].model_extra == {"k": "v"}
    assert result.to_wire() == body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("succeeded", OperationStatus.SUCCEEDED),
        ("SUCCEEDED", OperationStatus.SUCCEEDED),
        ("NotStarted", OperationStatus.NOT_STARTED),
        ("Running", OperationStatus.RUNNING),
        ("FAILED", OperationStatus.FAILED),
    ],
)
def test_status_matches_case_insensitively(raw: str, expected: OperationStatus) -> None:
    status = ReadOperationResult.model_validate({"status": raw}).status
    assert status is expected


def test_unknown_enum_values_are_kept_as_plain_strings() -> None:
    result = ReadOperationResult.model_validate(
        {
            "status": "canceled",
            "analyzeResult": {
                "readResults": [
                    {
                        "unit": "Centimeter",
                        "lines": [{"appearance": {"style": {"name": "Cursive"}}}],
                    }
                ]
            },
        }
    )
    assert result.status == "canceled" and not isinstance(result.status, OperationStatus)
    page = result.analyze_result.read_results[0]  # type: ignore[union-attr]
    assert page.unit == "Centimeter" and not isinstance(page.unit, TextUnit)
    style = page.lines[0].appearance.style  # type: ignore[union-attr]
    assert style is not None and style.name == "Cursive"


def test_unit_and_style_match_case_insensitively() -> None:
    page = Page.model_validate(
        {"unit": "INCH", "lines": [{"appearance": {"style": {"name": "HandWriting"}}}]}
    )
    assert page.unit is TextUnit.INCH
    assert page.lines[0].appearance.style.name is TextStyleName.HANDWRITING  # type: ignore[union-attr]


def test_a_non_string_enum_value_is_rejected() -> None:
    with pytest.raises(ValidationError):
        ReadOperationResult.model_validate({"status": ["succeeded"]})


def test_missing_optional_and_required_fields_are_fine() -> None:
    assert ReadOperationResult.model_validate({}).status is None
    page = Page.model_validate({"lines": [{"words": [{}]}]})
    assert page.page is None and page.unit is None and page.width is None
    assert page.lines[0].bounding_box is None and page.lines[0].words[0].text is None
    assert AnalyzeResult.model_validate({}).read_results == []
    assert Line.model_validate({}).words == []


def test_models_accept_python_names_as_well_as_aliases() -> None:
    word = Word(bounding_box=[1, 2, 3, 4, 5, 6, 7, 8], text="w", confidence=0.5)
    assert word.to_wire() == {
        "boundingBox": [1, 2, 3, 4, 5, 6, 7, 8],
        "text": "w",
        "confidence": 0.5,
    }
    assert Word.model_validate({"boundingBox": [1.5] * 8}).bounding_box == [1.5] * 8


def test_numbers_sent_as_strings_are_coerced_like_msrest() -> None:
    page = Page.model_validate({"page": "2", "width": "600.5"})
    assert page.page == 2 and page.width == 600.5


def test_dates_that_do_not_parse_give_none() -> None:
    result = ReadOperationResult.model_validate({"lastUpdatedDateTime": "yesterday"})
    assert result.last_updated_date_time == "yesterday" and result.last_updated_at is None
    assert result.created_at is None


def test_read_result_is_frozen() -> None:
    result = ReadResult.from_operation("op", ReadOperationResult(status="succeeded"))
    with pytest.raises(ValidationError):
        result.operation_id = "other"  # type: ignore[misc]
