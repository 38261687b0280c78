"""Exceptions raised by tissuefate.

Library code raises these; only the command-line interface turns them into exit codes and
one-line messages (`ScenarioError` -> exit code 2).
"""

from __future__ import annotations

__all__ = ["NumericalError", "ScenarioError", "TissuefateError"]


class TissuefateError(Exception):
    """Base class of every error tissuefate raises on purpose."""


class ScenarioError(TissuefateError, ValueError):
    """Bad user input: a scenario, preset or option that cannot be used.

    Parameters
    ----------
    reason
        What is wrong, in words a user can act on.
    source
        The file the input came from (or a description such as ``"<string>"``), if known.
    key
        Dotted key path inside that file, e.g. ``"strategies.mwa.sessions[0].power"``.
    """

    def __init__(self, reason: str, *, source: str | None = None, key: str | None = None) -> None:
        self.reason = reason
        self.source = source
        self.key = key
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message as one line: ``file: key: reason`` (control characters escaped)."""
        parts = [_escape(p) for p in (self.source, self.key) if p]
        text = " ".join(self.reason.split())
        return ": ".join([*parts, text])

    def with_source(self, source: str) -> ScenarioError:
        """A copy of this error that names ``source`` as the file."""
        return ScenarioError(self.reason, source=source, key=self.key)


def _escape(text: str) -> str:
    """``text`` with line breaks and other control characters written as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


class NumericalError(TissuefateError, RuntimeError):
    """The numerics failed (NaN, instability): names the step, the field and the place."""

    def __init__(
        self,
        message: str,
        *,
        step: int | None = None,
        field: str | None = None,
        index: tuple[int, ...] | None = None,
    ) -> None:
        self.step = step
        self.field = field
        self.index = index
        where = []
        if step is not None:
            where.append(f"step {step}")
        if field is not None:
            where.append(f"field {field!r}")
        if index is not None:
            where.append(f"voxel {tuple(int(i) for i in index)}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
