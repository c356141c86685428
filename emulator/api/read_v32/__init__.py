"""Azure AI Vision Read v3.2 and the Read container's own routes: :mod:`.routes` (HTTP),
:mod:`.parsing` (query and body), :mod:`.results` (``analyzeResult`` and the operation
body). Its error codes are the core's (:mod:`emulator.errors`), which began with this API."""
