"""``python -m emulator``: the same as the ``ocr-emulator`` command."""

from emulator.cli import main

raise SystemExit(main())
