"""A local, offline emulator of the Azure AI Vision Read API v3.2 with real OCR.

Run it with ``ocr-emulator`` or ``python -m emulator``; build the ASGI app in-process with
:func:`emulator.app.create_app`.
"""
