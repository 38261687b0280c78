"""Shared helpers of the command-line tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


def _single_error_line(result: Any) -> str:
    """The single line the CLI printed; fails if there is more, or a traceback."""
    text = result.output
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line of error, got {len(lines)}:\n{text}"
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


@pytest.fixture
def error_line() -> Callable[[Any], str]:
    """``error_line(result)``: the one ``error: ...`` line a failed CLI run printed."""
    return _single_error_line
