"""Log lines that say only what happened: text from a request is escaped before it is logged.

A request path or header is the client's text. Logged as it is, a newline in it would start a
forged log line (``GET /x%0a... WARNING emulator.jobs: job X failed``) and terminal escapes
would act on whoever reads the log in a terminal. :func:`escape` writes every control
character (C0, DEL, C1, and the Unicode line and paragraph separators) as a Python-style
escape; :class:`EscapingFormatter` does it to every message the emulator's own logging setup
writes, so a value that reaches a log line by another way is escaped too.
"""

from __future__ import annotations

import logging
import re

# C0 controls, DEL, C1 controls, and the separators that some viewers treat as line ends.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character written as ``\\xNN`` (or ``\\uNNNN``), so it
    stays on one line and cannot drive a terminal."""
    return _CONTROL.sub(_escaped, text)


class EscapingFormatter(logging.Formatter):
    """A formatter whose messages never hold control characters. A traceback, which the
    formatter appends after the message, keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape(record.message)
        return super().formatMessage(record)
