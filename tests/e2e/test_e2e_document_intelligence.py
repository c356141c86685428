"""Microsoft's Document Intelligence clients, unchanged, against the emulator on a real socket
with the real OCR engine: ``azure-ai-documentintelligence`` 1.0.2 (API 2024-11-30) and
``azure-ai-formrecognizer`` 3.3.3 (API 2023-07-31), ``prebuilt-read``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pypdfium2
import pytest
from _e2e_support import E2E_KEY
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import (
    AnalyzeDocumentRequest,
    AnalyzeOutputOption,
    DocumentContentFormat,
)
from azure.ai.formrecognizer import DocumentAnalysisClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)

from emulator.server import Endpoint
from tests.conftest import encode, text_image

LINES = ["Invoice 2041 from Contoso", "Total due 4711 EUR"]


def _page(lines: Sequence[str]) -> bytes:
    return encode(text_image(lines, size=(900, 220)))


def _pdf(pages: Sequence[Sequence[str]]) -> bytes:
    images = [text_image(lines, size=(1275, 1650)) for lines in pages]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return buffer.getvalue()


def test_bytes_with_the_2024_11_30_client(di: DocumentIntelligenceClient) -> None:
    poller = di.begin_analyze_document("prebuilt-read", body=io.BytesIO(_page(LINES)))
    result = poller.result()
    assert result.model_id == "prebuilt-read"
    assert result.api_version == "2024-11-30"
    assert result.content == "\n".join(LINES)
    page = result.pages[0]
    assert page.unit == "pixel" and (page.width, page.height) == (900, 220)
    words = [w.content for w in page.words]
    assert words == " ".join(LINES).split()
    for word in page.words:  # spans index content (textElements: the client's default)
        assert (
            result.content[word.span.offset : word.span.offset + word.span.length] == word.content
        )
        assert 0 < word.confidence <= 1 and len(word.polygon) == 8
    assert [p.content for p in result.paragraphs] and result.paragraphs[0].bounding_regions
    result_id = poller.details["operation_id"]
    di.delete_analyze_result(model_id="prebuilt-read", result_id=result_id)
    with pytest.raises(ResourceNotFoundError):
        di.get_analyze_result_pdf(model_id="prebuilt-read", result_id=result_id)


def test_a_url_source_pages_and_markdown(
    di: DocumentIntelligenceClient, file_server: tuple[str, dict[str, bytes]]
) -> None:
    base, files = file_server
    files["/three.pdf"] = _pdf([["First page here"], ["Second page text"], ["Third page words"]])
    poller = di.begin_analyze_document(
        "prebuilt-read",
        AnalyzeDocumentRequest(url_source=f"{base}/three.pdf"),
        pages="2-3",
        output_content_format=DocumentContentFormat.MARKDOWN,
    )
    result = poller.result()
    assert result.content_format == "markdown"
    assert [p.page_number for p in result.pages] == [2, 3]
    assert result.pages[0].unit == "inch"
    assert abs(result.pages[0].width - 8.5) < 0.01 and abs(result.pages[0].height - 11) < 0.01
    assert result.content == "Second page text\n\n<!-- PageBreak -->\n\nThird page words"


def test_errors_are_http_response_errors_with_the_services_codes(
    di: DocumentIntelligenceClient, endpoint: Endpoint
) -> None:
    with pytest.raises(HttpResponseError) as bad:
        di.begin_analyze_document("prebuilt-read", body=b"this is no image").result()
    assert bad.value.status_code == 400
    assert bad.value.error is not None and bad.value.error.code == "InvalidRequest"
    assert bad.value.error.innererror["code"] == "InvalidContent"
    with pytest.raises(ResourceNotFoundError) as model:
        di.begin_analyze_document("prebuilt-invoice", body=_page(["x"])).result()
    assert model.value.error is not None and model.value.error.innererror["code"] == "ModelNotFound"
    with pytest.raises(HttpResponseError) as pages:
        di.begin_analyze_document("prebuilt-read", body=_page(["x"]), pages="bogus").result()
    assert pages.value.status_code == 400
    assert pages.value.error is not None and pages.value.error.code == "InvalidArgument"
    with (
        DocumentIntelligenceClient(endpoint.url, AzureKeyCredential("wrong")) as stranger,
        pytest.raises(ClientAuthenticationError),
    ):
        stranger.begin_analyze_document("prebuilt-read", body=_page(["x"])).result()


def test_the_2023_07_31_client(endpoint: Endpoint) -> None:
    client = DocumentAnalysisClient(endpoint.url, AzureKeyCredential(E2E_KEY))
    result = client.begin_analyze_document("prebuilt-read", _page(LINES)).result()
    assert result.api_version == "2023-07-31"
    assert result.content == "\n".join(LINES)
    page = result.pages[0]
    # The client finds a line's words by their spans (sent as unicodeCodePoint here).
    assert [[w.content for w in line.get_words()] for line in page.lines] == [
        line.split() for line in LINES
    ]
    assert page.words[0].polygon[0].x >= 0
    with pytest.raises(HttpResponseError) as bad:
        client.begin_analyze_document("prebuilt-read", b"garbage").result()
    assert bad.value.status_code == 400


def test_handles_every_supported_image_kind(di: DocumentIntelligenceClient) -> None:
    image = text_image(["Kinds of images 77"], size=(800, 160))
    for fmt in ("JPEG", "BMP", "TIFF"):
        result = di.begin_analyze_document("prebuilt-read", body=encode(image, fmt)).result()
        assert result.content == "Kinds of images 77", fmt


def test_langchains_loader_calls(
    endpoint: Endpoint, file_server: tuple[str, dict[str, bytes]]
) -> None:
    """LangChain's ``AzureAIDocumentIntelligenceLoader(api_model="prebuilt-read")``, replayed
    call for call (``langchain-community`` itself pulls 30 packages, SQLAlchemy and aiohttp
    among them, so it is not a test dependency): a client with its user-agent header, a file
    body sent as octet-stream with markdown output (``mode="markdown"``), text output read page
    by page (``mode="page"``), and a URL source (``parse_url``)."""
    with DocumentIntelligenceClient(
        endpoint=endpoint.url,
        credential=AzureKeyCredential(E2E_KEY),
        headers={"x-ms-useragent": "langchain-parser/1.0.0"},
    ) as client:
        document = _page(LINES)
        poller = client.begin_analyze_document(
            "prebuilt-read",
            body=io.BytesIO(document),
            content_type="application/octet-stream",
            output_content_format=DocumentContentFormat.MARKDOWN,
        )
        markdown = poller.result().content
        assert markdown.split() == " ".join(LINES).split()  # paragraphs: blank lines apart
        poller = client.begin_analyze_document(
            "prebuilt-read",
            body=io.BytesIO(document),
            content_type="application/octet-stream",
            output_content_format=DocumentContentFormat.TEXT,
        )
        pages = [" ".join(line.content for line in p.lines) for p in poller.result().pages]
        assert pages == [" ".join(LINES)]
        base, files = file_server
        files["/page.png"] = document
        poller = client.begin_analyze_document(
            "prebuilt-read",
            AnalyzeDocumentRequest(url_source=f"{base}/page.png"),
            output_content_format=DocumentContentFormat.MARKDOWN,
        )
        assert poller.result().content == markdown


def _pdf_text(pdf: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    return [document[i].get_textpage().get_text_range() for i in range(len(document))]


def test_searchable_pdf_with_the_client(di: DocumentIntelligenceClient) -> None:
    source = _pdf([["Alpha beta gamma"], ["Delta epsilon zeta"]])
    poller = di.begin_analyze_document(
        "prebuilt-read", body=source, output=[AnalyzeOutputOption.PDF]
    )
    result = poller.result()
    pdf = b"".join(
        di.get_analyze_result_pdf(
            model_id=result.model_id, result_id=poller.details["operation_id"]
        )
    )
    assert pdf.startswith(b"%PDF-")
    original, searchable = pypdfium2.PdfDocument(source), pypdfium2.PdfDocument(pdf)
    assert len(searchable) == len(original) == 2
    for i in range(2):  # the input's pages, at their size
        assert searchable[i].get_size() == pytest.approx(original[i].get_size(), abs=0.01)
    # The text layer is what was read, page by page (compared without spaces: pdfium joins
    # two words whose boxes touch, as the engine's "gamma" and a stray "1" after it).
    read = [[word.content for word in page.words] for page in result.pages]
    assert ["".join(text.split()) for text in _pdf_text(pdf)] == ["".join(r) for r in read]
    assert read[0][:2] == ["Alpha", "beta"] and read[1][:2] == ["Delta", "epsilon"]


def test_paperless_ngx_remote_parser_calls(endpoint: Endpoint, tmp_path: Any) -> None:
    """paperless-ngx's remote OCR parser (``engine = azureai``), replayed call for call: the
    file's bytes as ``AnalyzeDocumentRequest(bytes_source=...)`` sent as JSON, text output and
    a searchable PDF, ``poller.wait()``, the result id from ``poller.details``, then the PDF
    streamed to the archive file and ``result.content`` taken as the document's text."""
    document = tmp_path / "scan.png"
    document.write_bytes(_page(LINES))
    client = DocumentIntelligenceClient(
        endpoint=endpoint.url, credential=AzureKeyCredential(E2E_KEY)
    )
    try:
        with document.open("rb") as f:
            analyze_request = AnalyzeDocumentRequest(bytes_source=f.read())
            poller = client.begin_analyze_document(
                model_id="prebuilt-read",
                body=analyze_request,
                output_content_format=DocumentContentFormat.TEXT,
                output=[AnalyzeOutputOption.PDF],
                content_type="application/json",
            )
        poller.wait()
        result_id = poller.details["operation_id"]
        result = poller.result()
        archive = tmp_path / "archive.pdf"
        with archive.open("wb") as f:
            for chunk in client.get_analyze_result_pdf(
                model_id="prebuilt-read", result_id=result_id
            ):
                f.write(chunk)
    finally:
        client.close()
    assert result.content == "\n".join(LINES)
    assert [text.split() for text in _pdf_text(archive.read_bytes())] == [" ".join(LINES).split()]


@pytest.mark.parametrize("version", ["2024-07-31-preview", "2024-02-29-preview"])
def test_microsofts_client_on_a_preview_api_version(endpoint: Endpoint, version: str) -> None:
    """What a beta client (``azure-ai-documentintelligence`` 1.0.0b4 sends 2024-07-31-preview,
    as markitdown does) gets: the GA client made to send the preview's api-version, unchanged
    otherwise, reads the document, and the answer names the version it asked for."""
    with DocumentIntelligenceClient(
        endpoint.url, AzureKeyCredential(E2E_KEY), api_version=version
    ) as client:
        result = client.begin_analyze_document(
            "prebuilt-read", body=io.BytesIO(_page(LINES))
        ).result()
    assert result.api_version == version
    assert result.content == "\n".join(LINES)


def test_the_form_recognizer_client_on_2022_08_31(endpoint: Endpoint) -> None:
    """``azure-ai-formrecognizer`` 3.2's api-version, sent by the 3.3 client: served with
    2023-07-31's shape."""
    client = DocumentAnalysisClient(
        endpoint.url, AzureKeyCredential(E2E_KEY), api_version="2022-08-31"
    )
    with client:
        result = client.begin_analyze_document("prebuilt-read", _page(LINES)).result()
    assert result.api_version == "2022-08-31"
    assert result.content == "\n".join(LINES)
