"""Treatment modalities: each turns a session plan into heat, cold or agent and runs it."""

from .base import SessionContext, SessionResult, ThermalOptions
from .heat_source import run_heat_source_session
from .microwave import run_microwave_session

RUNNERS = {
    "heat_source": run_heat_source_session,
    "microwave": run_microwave_session,
}
"""Session runner by modality name."""

__all__ = [
    "RUNNERS",
    "SessionContext",
    "SessionResult",
    "ThermalOptions",
    "run_heat_source_session",
    "run_microwave_session",
]
