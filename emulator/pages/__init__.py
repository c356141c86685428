"""A page once read: the record stored for it, shared by every API
(:mod:`~emulator.pages.records`), the language it is written in
(:mod:`~emulator.pages.languages`) and its paragraphs (:mod:`~emulator.pages.paragraphs`).

The job pipeline writes these records; the API surfaces and :mod:`emulator.structure` read
them. It imports documents (a page's image), the engine's types and the contract, never the
job pipeline or the HTTP edge.
"""
