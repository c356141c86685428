"""Error responses mapped onto the exception tree, for every status and body shape."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

import ocr_sdk
from ocr_sdk import (
    AsyncOcrClient,
    AuthenticationError,
    InsecureTransportError,
    InvalidRequestError,
    NotFoundError,
    OcrClient,
    OcrConnectionError,
    OcrError,
    OperationFailedError,
    PollingTimeoutError,
    RateLimitError,
    RetryPolicy,
    ServiceError,
)
from ocr_sdk._base_client import error_from_response

from .conftest import KEY, OPERATION_ID, resolve

MakeClient = Callable[..., OcrClient | AsyncOcrClient]
NO_RETRY = RetryPolicy(max_retries=0, retry_budget=0)


def response(status: int, **kwargs: Any) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://h/x"), **kwargs)


def test_the_tree() -> None:
    for cls in (
        AuthenticationError,
        InvalidRequestError,
        NotFoundError,
        RateLimitError,
        ServiceError,
        OperationFailedError,
        PollingTimeoutError,
        OcrConnectionError,
        InsecureTransportError,
    ):
        assert issubclass(cls, OcrError)
    assert issubclass(InsecureTransportError, ValueError)
    # The module docstring draws the tree; every class in it must exist and vice versa.
    drawn = set(re.findall(r"[├└]── (\w+)", ocr_sdk._exceptions.__doc__ or ""))
    assert drawn == {name for name in ocr_sdk._exceptions.__all__ if name != "OcrError"}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequestError),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (405, InvalidRequestError),
        (408, OcrError),
        (413, InvalidRequestError),
        (415, InvalidRequestError),
        (429, RateLimitError),
        (500, ServiceError),
        (502, ServiceError),
        (503, ServiceError),
        (504, ServiceError),
        (501, ServiceError),
        (302, OcrError),
    ],
)
def test_status_to_class(status: int, cls: type[OcrError]) -> None:
    error = error_from_response(response(status, json={"code": "C", "message": "m"}), now=0)
    assert type(error) is cls
    assert error.status_code == status


def test_flat_body() -> None:
    error = error_from_response(
        response(
            400,
            json={
                "code": "InvalidImageFormat",
                "message": "Input data is not a valid image.",
                "requestId": "body-rid",
            },
        ),
        now=0,
    )
    assert isinstance(error, InvalidRequestError)
    assert error.code == "InvalidImageFormat"
    assert error.message == "Input data is not a valid image."
    assert error.request_id == "body-rid"
    assert str(error) == (
        "InvalidImageFormat: Input data is not a valid image. (HTTP 400, request id body-rid)"
    )


def test_wrapped_body_and_request_id_header_wins() -> None:
    error = error_from_response(
        response(
            401,
            json={"error": {"code": "401", "message": "Access denied"}, "requestId": "body"},
            headers={"apim-request-id": "hdr-rid"},
        ),
        now=0,
    )
    assert isinstance(error, AuthenticationError)
    assert (error.code, error.message, error.request_id) == ("401", "Access denied", "hdr-rid")
    assert error.body == {"error": {"code": "401", "message": "Access denied"}, "requestId": "body"}


def test_rate_limit_carries_retry_after() -> None:
    error = error_from_response(
        response(
            429,
            json={"error": {"code": "429", "message": "Rate limit is exceeded."}},
            headers={"Retry-After": "7"},
        ),
        now=0,
    )
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0 and error.code == "429"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": b""}, "Service Unavailable"),
        ({"content": b"<html>gateway down</html>"}, "<html>gateway down</html>"),
        ({"content": b"not json {"}, "not json {"),
        ({"json": ["a list"]}, "Service Unavailable"),
        ({"json": {"unrelated": 1}}, "Service Unavailable"),
        ({"content": b"\xff\xfe garbage"}, "\ufffd\ufffd garbage"),
    ],
)
def test_bodies_without_the_error_shape(kwargs: dict[str, Any], message: str) -> None:
    error = error_from_response(response(503, **kwargs), now=0)
    assert isinstance(error, ServiceError)
    assert error.code is None and error.message == message
    assert str(error) == f"{message} (HTTP 503)"


def test_a_long_text_body_is_truncated() -> None:
    error = error_from_response(response(500, content=b"x" * 10_000), now=0)
    assert error.message == "x" * 500


def test_numeric_code_becomes_a_string() -> None:
    error = error_from_response(
        response(401, json={"error": {"code": 401, "message": "no"}}), now=0
    )
    assert error.code == "401"


async def test_errors_from_the_wire_for_post_and_get(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_response(
        method="POST",
        status_code=415,
        json={"code": "UnsupportedMediaType", "message": "bad type", "requestId": "r1"},
    )
    httpx_mock.add_response(
        method="GET",
        status_code=404,
        json={"code": "NotFound", "message": "Operation not found."},
        headers={"apim-request-id": "r2"},
    )
    client = make_client(retry=NO_RETRY)
    with pytest.raises(InvalidRequestError) as post_error:
        await resolve(client.begin_read(b"x"))
    assert (post_error.value.code, post_error.value.request_id) == ("UnsupportedMediaType", "r1")
    with pytest.raises(NotFoundError) as get_error:
        await resolve(client.get_read_result(OPERATION_ID))
    assert (get_error.value.status_code, get_error.value.request_id) == (404, "r2")


async def test_transport_failure_is_a_connection_error(
    httpx_mock: HTTPXMock, make_client: MakeClient
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("Connection refused"))
    with pytest.raises(OcrConnectionError) as info:
        await resolve(make_client(retry=NO_RETRY).get_read_result(OPERATION_ID))
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.status_code is None
    assert "ConnectError" in str(info.value)


async def test_key_never_appears_in_messages_reprs_or_logs(
    httpx_mock: HTTPXMock, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpx_mock.add_response(method="GET", status_code=503, json={"code": "X", "message": "busy"})
    httpx_mock.add_response(
        method="GET", status_code=401, json={"error": {"code": "401", "message": "denied"}}
    )
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    httpx_mock.add_exception(httpx.ConnectError("refused again"))
    client = make_client(retry=RetryPolicy(max_retries=1, jitter=0))
    errors: list[OcrError] = []
    for _ in range(2):
        try:
            await resolve(client.get_read_result(OPERATION_ID))
        except OcrError as error:
            errors.append(error)
    assert [type(e) for e in errors] == [AuthenticationError, OcrConnectionError]
    assert "Retrying GET" in caplog.text  # the retry really was logged
    texts = [caplog.text, repr(client), str(client)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    for text in texts:
        assert KEY not in text
    assert "***" in repr(client)
