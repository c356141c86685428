"""The HTTP edge: everything between a socket and the API routes.

uvicorn on a bound socket with the service's shutdown (:mod:`~emulator.http.server`), HTTPS
(:mod:`~emulator.http.tls`), the h11 protocol that answers requests that never become requests
(:mod:`~emulator.http.protocol`), the middleware every request passes
(:mod:`~emulator.http.middleware`: request id and access log, key, faults, rate limit, head
size), request bodies streamed under a cap (:mod:`~emulator.http.bodies`), the download of a
URL source (:mod:`~emulator.http.fetch`) and ``/metrics`` (:mod:`~emulator.http.metrics`).

The edge may import the job pipeline, documents, security, the store and observability; it
never imports :mod:`emulator.api` (the routes sit on top of it) or :mod:`emulator.app`, and
nothing below it imports it (``tests/emulator/test_architecture.py``).
"""
