"""Every option of the emulator, as a flag and as an environment variable, is in the guide."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.settings import ENV_PREFIX, build_parser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"
FLAGS = sorted(
    option
    for action in build_parser()._actions
    for option in action.option_strings
    if option.startswith("--") and option != "--help"
)


def test_the_parser_has_flags() -> None:
    assert "--retention" in FLAGS and len(FLAGS) >= 10


@pytest.mark.parametrize("flag", FLAGS)
def test_flag_and_its_variable_are_documented(flag: str) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    variable = ENV_PREFIX + flag[2:].replace("-", "_").upper()
    assert f"`{flag}" in text, flag
    assert f"`{variable}" in text, variable
