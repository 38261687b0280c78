"""What every modality receives and returns: the session context and the session result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..grid.anatomy import Anatomy
from ..grid.grid import Grid
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ProgressCallback", "SessionContext", "SessionResult", "ThermalOptions"]

ProgressCallback = Callable[[float, str], None]
"""Called with the fraction of the session done (0..1) and a short status text."""


@dataclass(frozen=True)
class ThermalOptions:
    """Settings of the heat solver for thermal sessions (temperatures in °C, times in s)."""

    initial_temperature: float | None = None
    boundary: str = "body_temperature"
    boundary_temperature: float | None = None
    dtype: str = "float32"
    time_step_safety: float = 0.9
    time_step: float | None = None
    update_interval: float = 2.0
    record_interval: float = 10.0
    perfusion_shutdown: bool = True
    local_time_step: bool = True


@dataclass
class SessionContext:
    """The tissue a session acts on. ``state`` is changed in place by the session."""

    grid: Grid
    anatomy: Anatomy
    tissue: TissueModel
    state: TissueState
    thermal: ThermalOptions = field(default_factory=ThermalOptions)
    impl: str = "compiled"
    progress: ProgressCallback | None = None
    agent: Any = None  # the resolved agent of an injection session, when the caller has it


@dataclass
class SessionResult:
    """What one session did.

    Attributes
    ----------
    modality
        Name of the modality.
    delivered
        The settings as delivered, JSON-able, with unit suffixes in the keys.
    fields
        Dose fields on the grid: ``peak_temperature`` and ``min_temperature`` (°C),
        ``thermal_dose`` (Arrhenius Ω), ``cem43`` (min), ``kill_fraction``.
    timeseries
        One row per state update (``time_s``, ``phase``, ...).
    solver
        Steps, time step and wall time of the solver, and its settings.
    energy
        The energy ledger in J.
    focus
        Point (m) and unit axis (or None) through which pictures of the session should cut.
    extra
        Modality-specific summary entries.
    """

    modality: str
    delivered: dict[str, Any]
    fields: dict[str, np.ndarray]
    timeseries: pd.DataFrame
    solver: dict[str, Any]
    energy: dict[str, float]
    focus: tuple[np.ndarray, np.ndarray | None]
    extra: dict[str, Any] = field(default_factory=dict)
