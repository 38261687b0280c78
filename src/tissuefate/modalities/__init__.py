"""Treatment modalities: each turns a session plan into heat, cold or agent and runs it."""

from .base import SessionContext, SessionResult, ThermalOptions
from .cryo import run_cryo_session
from .heat_source import run_heat_source_session
from .injection import run_injection_session
from .microwave import run_microwave_session
from .radiofrequency import run_radiofrequency_session

RUNNERS = {
    "cryo": run_cryo_session,
    "heat_source": run_heat_source_session,
    "injection": run_injection_session,
    "microwave": run_microwave_session,
    "radiofrequency": run_radiofrequency_session,
}
"""Session runner by modality name."""

__all__ = [
    "RUNNERS",
    "SessionContext",
    "SessionResult",
    "ThermalOptions",
    "run_cryo_session",
    "run_heat_source_session",
    "run_injection_session",
    "run_microwave_session",
    "run_radiofrequency_session",
]
