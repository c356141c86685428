"""The ``ocr-emulator`` command (also ``python -m emulator``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from emulator.observability.logs import formatter_for
from emulator.settings import SettingsError, load


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr, as text or one JSON object per line (``--log-format``); stdout carries
    only the startup line so scripts can parse it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # uvicorn repeats what the startup line says; keep its chatter to warnings.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags and environment, print the startup line, serve until SIGTERM/SIGINT."""
    try:
        settings = load(argv)
    except SettingsError as error:
        print(f"ocr-emulator: error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    # Imported late so that `--help` and bad flags answer without loading the server stack.
    from emulator.security.crypto import KeyFileError
    from emulator.server import serve
    from emulator.store import KeyMismatchError

    try:
        return serve(settings)
    except KeyFileError as error:
        # A bad option found only when the file is read: same answer as other bad options.
        print(f"ocr-emulator: error: encryption key file {error}", file=sys.stderr)
        return 2
    except (KeyMismatchError, SettingsError) as error:
        print(f"ocr-emulator: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"ocr-emulator: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
