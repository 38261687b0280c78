"""`CourseState`: everything a course needs to go on from where it is, and its checkpoints.

A course is the tissue state plus its history: the repair clock (absolute step grid, active
block, slow movers' elapsed time, clearance ledger), what has been done (rows, sessions, scans,
snapshots), what is in force (the occlusion recovery time of the last session), where the
timeline is (next explicit session, the policy's state) and the random generator. It is saved
whole in a checkpoint and read back bit for bit.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..biology.repair import RepairClock
from ..errors import ScenarioError
from ..io.checkpoint import OnDisk, read_checkpoint, read_part, write_checkpoint, write_part
from ..tissue.state import MECHANICS_FIELDS, TissueState

__all__ = ["PARTS", "CourseState", "PolicyRun", "load_course_state"]

PARTS = "parts"
"""The folder beside the checkpoints that holds the history each of them shares."""


@dataclass
class PolicyRun:
    """Where a strategy's policy is: sessions it gave, its next decision day, why it stopped."""

    sessions_used: int = 0
    next_day: float | None = None
    """Day of the next decision (scan, then treat or stop); None once stopped."""
    stop_reason: str | None = None
    retreats: int = 0
    """Re-treatments of local progression given so far."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return dict(self.__dict__)


@dataclass
class CourseState:
    """The state of one strategy's course at course time ``day``.

    Attributes
    ----------
    strategy
        Name of the strategy being run.
    day
        Course time reached, in days since the start.
    tissue
        The per-voxel tissue state (changed in place as the course goes on).
    normal0
        Parenchyma of the untreated tissue (for normal tissue lost), carried with the tissue
        when the mechanics moves it, so that parenchyma pushed or drawn aside is not lost.
    clock
        The repair model's clock (None when repair is off).
    recovery_s
        Occlusion recovery time in force (s; None: the repair default), set by the last session.
    rng
        The course's random generator (stochastic detection), seeded from the scenario.
    next_session
        Index of the next explicit session of the strategy.
    policy
        The policy's progress (None when the strategy has no policy).
    last_session_day
        Day of the last session given (None before the first).
    next_checkpoint_day
        Day of the next periodic checkpoint.
    rows, sessions, session_fields, session_rows, extras, repair_inputs, snapshots, scans
        What has been recorded (timeseries rows, session summaries and dose fields, session
        timeseries, figure hints, repair inputs, field snapshots, scans).
    scan_maps
        The per-voxel treatability maps of each scan.
    history
        Where recorded fields are streamed to as parts (None: they are kept in memory).
    systemic_mmol
        Agent that reached the circulation so far, mmol.
    final_treatability
        The treatability of the course's first session given again at its end (once measured).
    wall_time_s, repair_wall_s
        Wall time spent on this course so far, all of it and in repair, s (summed over resumed
        runs).
    checkpoints
        Checkpoints written so far (their folder names).
    """

    strategy: str
    day: float
    tissue: TissueState
    normal0: np.ndarray
    clock: RepairClock | None
    rng: np.random.Generator
    recovery_s: float | None = None
    next_session: int = 0
    policy: PolicyRun | None = None
    last_session_day: float | None = None
    next_checkpoint_day: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    session_fields: list[Mapping[str, np.ndarray]] = field(default_factory=list)
    session_rows: list[pd.DataFrame] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    repair_inputs: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[str, float, Mapping[str, np.ndarray]]] = field(default_factory=list)
    scans: list[dict[str, Any]] = field(default_factory=list)
    scan_maps: list[Mapping[str, np.ndarray]] = field(default_factory=list)
    systemic_mmol: float = 0.0
    final_treatability: dict[str, Any] | None = None
    wall_time_s: float = 0.0
    repair_wall_s: float = 0.0
    checkpoints: list[str] = field(default_factory=list)
    history: Path | None = None

    def stash(self, kind: str, fields: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        """Keep fields the course records (``kind``: ``snapshot``, ``session`` or ``scanmap``):
        streamed to a part in ``history`` when the course has one (then only a reference stays
        in memory), else a copy in memory. Returns what to append to the record."""
        if self.history is None:
            return {name: np.array(arr, copy=True) for name, arr in fields.items()}
        index = len(self._history()[kind])
        path = write_part(self.history / f"{kind}-{index:04d}.npz", fields)
        return OnDisk(path, fields)

    # -- checkpoints ------------------------------------------------------------------------------
    def save(self, folder: str | os.PathLike[str], identity: dict[str, Any]) -> Path:
        """Write this state as a checkpoint folder (atomically); ``identity`` records what it
        belongs to (scenario, strategy, grid and anatomy) for the checks of a later resume.

        The recorded history (snapshots, session doses, scan maps) goes to the parts folder
        beside it (``PARTS``), each written once and shared by later checkpoints."""
        target = Path(folder)
        parts = target.parent / PARTS
        arrays: dict[str, np.ndarray] = {"normal0": self.normal0}
        for name, arr in self.tissue.as_dict().items():
            arrays[f"tissue.{name}"] = arr
        for prefix, items in self._history().items():
            for i, fields in enumerate(items):
                part = parts / f"{prefix}-{i:04d}.npz"
                if not isinstance(fields, OnDisk):
                    write_part(part, fields)
                elif fields.path.resolve() != part.resolve() and not part.is_file():
                    part.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(fields.path, part)
        meta = {
            "identity": identity,
            "strategy": self.strategy,
            "day": self.day,
            "clock": None if self.clock is None else self.clock.as_dict(),
            "rng": self.rng.bit_generator.state,
            "recovery_s": self.recovery_s,
            "next_session": self.next_session,
            "policy": None if self.policy is None else self.policy.as_dict(),
            "last_session_day": self.last_session_day,
            "next_checkpoint_day": self.next_checkpoint_day,
            "rows": self.rows,
            "sessions": self.sessions,
            "session_fields": [list(f) for f in self.session_fields],
            "scan_maps": [list(f) for f in self.scan_maps],
            "session_rows": self.session_rows,
            "extras": self.extras,
            "repair_inputs": self.repair_inputs,
            "snapshots": [(label, day) for label, day, _ in self.snapshots],
            "scans": self.scans,
            "systemic_mmol": self.systemic_mmol,
            "final_treatability": self.final_treatability,
            "wall_time_s": self.wall_time_s,
            "repair_wall_s": self.repair_wall_s,
            "checkpoints": self.checkpoints,
        }
        return write_checkpoint(folder, arrays, meta)

    def _history(self) -> dict[str, list[Mapping[str, np.ndarray]]]:
        """What the course recorded once, by part kind."""
        return {
            "snapshot": [snap for _, _, snap in self.snapshots],
            "session": self.session_fields,
            "scanmap": self.scan_maps,
        }


def _tissue(arrays: dict[str, np.ndarray], prefix: str) -> TissueState:
    fields = {name: arrays.get(f"{prefix}.{name}") for name in TissueState.field_names()}
    # a checkpoint from before the mechanics: the tissue has not moved, its water settled
    for name in MECHANICS_FIELDS:
        if fields[name] is None:
            fields[name] = (
                fields["water"].copy()  # type: ignore[union-attr]
                if name == "water_settled"
                else np.zeros_like(fields["water"])
            )
    return TissueState(**fields)  # type: ignore[arg-type]


def load_course_state(
    folder: str | os.PathLike[str], key: str = "--from", *, lazy: bool = False
) -> tuple[CourseState, dict[str, Any]]:
    """Read a checkpoint written by :meth:`CourseState.save`: the state and its identity.

    With ``lazy`` the recorded history stays on disk (the parts beside the checkpoint) and
    goes on streaming there; else it is read into memory.

    Raises
    ------
    ScenarioError
        When ``folder`` is not a readable checkpoint (``key`` names the option).
    """
    arrays, meta = read_checkpoint(folder, key)
    rng = np.random.default_rng()
    rng.bit_generator.state = meta["rng"]
    parts = Path(folder).parent / PARTS

    def read(kind: str, names: list[list[str]]) -> list[Mapping[str, np.ndarray]]:
        paths = [parts / f"{kind}-{i:04d}.npz" for i in range(len(names))]
        for path in paths:
            if not path.is_file():
                raise ScenarioError("the history part is missing", key=key, source=str(path))
        if lazy:
            return [OnDisk(path, n) for path, n in zip(paths, names, strict=True)]
        return [read_part(path, key) for path in paths]

    fields = TissueState.field_names()
    snapshots = [
        (label, day, entry)
        for (label, day), entry in zip(
            meta["snapshots"],
            read("snapshot", [list(fields)] * len(meta["snapshots"])),
            strict=True,
        )
    ]
    session_fields = read("session", meta["session_fields"])
    scan_maps = read("scanmap", meta["scan_maps"])
    clock = None if meta["clock"] is None else RepairClock.from_dict(meta["clock"])
    policy = None if meta["policy"] is None else PolicyRun(**meta["policy"])
    state = CourseState(
        strategy=meta["strategy"],
        day=meta["day"],
        tissue=_tissue(arrays, "tissue"),
        normal0=arrays["normal0"],
        clock=clock,
        rng=rng,
        recovery_s=meta["recovery_s"],
        next_session=meta["next_session"],
        policy=policy,
        last_session_day=meta["last_session_day"],
        next_checkpoint_day=meta["next_checkpoint_day"],
        rows=meta["rows"],
        sessions=meta["sessions"],
        session_fields=session_fields,
        session_rows=meta["session_rows"],
        extras=meta["extras"],
        repair_inputs=meta["repair_inputs"],
        snapshots=snapshots,
        scans=meta["scans"],
        scan_maps=scan_maps,
        systemic_mmol=meta["systemic_mmol"],
        final_treatability=meta["final_treatability"],
        wall_time_s=meta["wall_time_s"],
        repair_wall_s=meta["repair_wall_s"],
        checkpoints=meta["checkpoints"],
        history=parts if lazy else None,
    )
    return state, meta["identity"]
