"""Observers of a course: they watch the controller's loop from outside, never edit it.

:class:`ProgressObserver` feeds a progress callback; :class:`Checkpointer` saves the course after
every session and every ``outputs.checkpoint_every`` of course time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..io.checkpoint import is_checkpoint
from .state import CourseState

if TYPE_CHECKING:
    from .controller import Course

__all__ = ["Checkpointer", "Observer", "Progress", "ProgressObserver", "latest_checkpoint"]

Progress = Callable[[float, str], None]
_EPS_D = 1e-9
"""Two course days closer than this are the same day."""


class Observer:
    """Watches a course from outside the loop; every hook is optional.

    Hooks receive the course and its state; they must not change the state.
    """

    def stepped(self, course: Course, state: CourseState) -> None:
        """After each repair step (and after each jump when repair is off)."""

    def session_done(self, course: Course, state: CourseState) -> None:
        """After each session (its summary is ``state.sessions[-1]``)."""

    def scanned(self, course: Course, state: CourseState) -> None:
        """After each scan (``state.scans[-1]``)."""

    def finished(self, course: Course, state: CourseState) -> None:
        """When the course has reached its end."""


class ProgressObserver(Observer):
    """Feeds a ``progress(fraction, text)`` callback: sessions share the first part of the bar in
    proportion to their number, repair the rest by course day."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def fraction(self, course: Course, state: CourseState, within: float = 0.0) -> float:
        n_total = max(1, course.expected_sessions(state))
        end = course.expected_end(state)
        if course.repair is None or end <= 0:
            return min(1.0, (len(state.sessions) + within) / n_total)
        share = n_total / (n_total + 1.0)
        done = share * min(1.0, (len(state.sessions) + within) / n_total)
        return min(1.0, done + (1.0 - share) * min(1.0, state.day / end))

    def stepped(self, course: Course, state: CourseState) -> None:
        self.progress(self.fraction(course, state), f"repair, day {state.day:.0f}")

    def session(self, course: Course, state: CourseState, frac: float, text: str) -> None:
        """Progress inside a session."""
        self.progress(self.fraction(course, state, frac), text)

    def finished(self, course: Course, state: CourseState) -> None:
        self.progress(1.0, "done")


class Checkpointer(Observer):
    """Saves the course after every session and every ``every_d`` days of course time, in
    ``folder`` (one sub-folder per checkpoint, named ``NNNN-day-D.DD[-session-K]``)."""

    def __init__(self, folder: str | os.PathLike[str], every_d: float) -> None:
        if every_d <= 0:
            raise ValueError(f"checkpoint interval must be positive, got {every_d}")
        self.folder = Path(folder)
        self.every_d = every_d

    def save(self, course: Course, state: CourseState, suffix: str = "") -> Path:
        """Write a checkpoint of ``state`` now."""
        name = f"{len(state.checkpoints) + 1:04d}-day-{state.day:.2f}{suffix}"
        state.checkpoints.append(name)
        while state.next_checkpoint_day <= state.day + _EPS_D:
            state.next_checkpoint_day += self.every_d
        return state.save(self.folder / name, course.identity())

    def stepped(self, course: Course, state: CourseState) -> None:
        if state.day + _EPS_D >= state.next_checkpoint_day:
            self.save(course, state)

    def session_done(self, course: Course, state: CourseState) -> None:
        self.save(course, state, f"-session-{len(state.sessions)}")


def latest_checkpoint(folder: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint in ``folder`` (by its number), or None."""
    path = Path(folder)
    if not path.is_dir():
        return None
    found = sorted(p for p in path.iterdir() if p.name[:4].isdigit() and is_checkpoint(p))
    return found[-1] if found else None
