"""Azure AI Document Intelligence's ``prebuilt-read``, API 2024-11-30 and 2023-07-31:
:mod:`.routes` (HTTP), :mod:`.parsing` (versions, model id, query, body), :mod:`.results`
(``content``, pages, words, lines, paragraphs and spans from the stored page records) and
:mod:`.errors` (its error body and codes)."""
