"""The session runner of each modality, by the name a scenario uses."""

from __future__ import annotations

from .cryo import run_cryo_session
from .heat_source import run_heat_source_session
from .injection import run_injection_session
from .ire import run_ire_session
from .microwave import run_microwave_session
from .radiofrequency import run_radiofrequency_session

__all__ = ["RUNNERS"]

RUNNERS = {
    "cryo": run_cryo_session,
    "heat_source": run_heat_source_session,
    "injection": run_injection_session,
    "ire": run_ire_session,
    "microwave": run_microwave_session,
    "radiofrequency": run_radiofrequency_session,
}
"""Session runner by modality name."""
