"""Documents: reading what a client sends into page images, where a hostile one hurts only
itself.

The formats and how each is checked and drawn (:mod:`~emulator.documents.formats`: PNG, JPEG,
BMP, TIFF, PDF, the service's input limits), the children that do it under memory and time
limits (:mod:`~emulator.documents.decoding`, forked from a fork server that preloads
:mod:`~emulator.documents.fork_server`; :mod:`~emulator.documents.children` starts and ends
any child), seekable streams over a document of known size (:mod:`~emulator.documents.streams`),
the searchable PDF written back from a document's pages (:mod:`~emulator.documents.searchable_pdf`)
and giving large page buffers back to the system (:mod:`~emulator.documents.memory`).

It imports only :mod:`emulator.errors`: never the job pipeline, the HTTP edge or security.
This ``__init__`` imports nothing, so the fork server's preload stays light.
"""
