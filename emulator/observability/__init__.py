"""Observability: log lines that say only what happened (:mod:`~emulator.observability.logs`:
escaped text, JSON lines, request ids) and W3C trace context with optional OpenTelemetry spans
(:mod:`~emulator.observability.tracing`).

Both are leaves that every layer may use; they import nothing of the emulator. The Prometheus
metrics, which read the job queue and count requests, are served by the HTTP edge
(:mod:`emulator.http.metrics`).
"""
