"""Security: what keeps a caller's data and identity safe.

Encryption at rest (:mod:`~emulator.security.crypto`: AES-256-GCM records and the key file),
documents sealed as they stream in and read back without a plaintext copy
(:mod:`~emulator.security.sealed`) and bearer tokens (:mod:`~emulator.security.tokens`). HTTPS
is served by the HTTP edge (:mod:`emulator.http.tls`), and the API-key check is its middleware
(:mod:`emulator.http.middleware.auth`).

It imports only :mod:`emulator.documents.streams` (a sealed document is read as a seekable
stream): never the job pipeline or the HTTP edge.
"""
