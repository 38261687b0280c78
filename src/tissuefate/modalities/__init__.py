"""Treatment modalities: each turns a session plan into heat, cold or agent and runs it.

The public names are imported on first use (PEP 562), so that checking a scenario does not
import every runner and the kernels behind them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .base import SessionContext, SessionResult, ThermalOptions
    from .cryo import run_cryo_session
    from .heat_source import run_heat_source_session
    from .injection import run_injection_session
    from .ire import run_ire_session
    from .microwave import run_microwave_session
    from .radiofrequency import run_radiofrequency_session
    from .runners import RUNNERS

__all__ = [
    "RUNNERS",
    "SessionContext",
    "SessionResult",
    "ThermalOptions",
    "run_cryo_session",
    "run_heat_source_session",
    "run_injection_session",
    "run_ire_session",
    "run_microwave_session",
    "run_radiofrequency_session",
]

__getattr__, __dir__ = lazy_names(
    __name__,
    {
        "RUNNERS": "runners",
        "SessionContext": "base",
        "SessionResult": "base",
        "ThermalOptions": "base",
        "run_cryo_session": "cryo",
        "run_heat_source_session": "heat_source",
        "run_injection_session": "injection",
        "run_ire_session": "ire",
        "run_microwave_session": "microwave",
        "run_radiofrequency_session": "radiofrequency",
    },
)
