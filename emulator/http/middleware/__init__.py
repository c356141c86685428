"""ASGI middleware, one concern per module; :mod:`emulator.app` declares their order."""
