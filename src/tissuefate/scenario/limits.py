"""The limits a scenario accepts: clinical generators, needles, pulse protocols and session
lengths.

Values beyond them are rejected when a scenario is validated, with the limit in the message. All
limits are in SI units (temperatures in °C); :func:`_at_most` allows the round-off of unit
conversion (``LIMIT_ROUND_OFF``), so a value written at a limit passes.
"""

from __future__ import annotations

import pint

from tissuefate.scenario.quantities import format_quantity, to_si

__all__ = [
    "CRYO_GAS_RANGE_C",
    "CRYO_THAW_RANGE_C",
    "IRE_PULSES_RANGE",
    "IRE_PULSE_RATE_RANGE_HZ",
    "IRE_PULSE_WIDTH_RANGE_S",
    "LIMIT_ROUND_OFF",
    "MAX_CRYO_PHASE_S",
    "MAX_INJECTION_NEEDLE_DIAMETER_M",
    "MAX_INJECTION_OBSERVE_S",
    "MAX_INJECTION_RATE_M3_S",
    "MAX_INJECTION_VOLUME_M3",
    "MAX_IRE_VOLTAGE_V",
    "MAX_MICROWAVE_DURATION_S",
    "MAX_MICROWAVE_POWER_W",
    "MAX_RF_DURATION_S",
    "MAX_RF_POWER_W",
    "MICROWAVE_FREQUENCY_HZ",
    "RF_COOLANT_RANGE_C",
    "RF_TINES_RANGE",
]


#: Frequencies the microwave model is calibrated for, in Hz.
MICROWAVE_FREQUENCY_HZ = 2.45e9
#: Highest power per applicator a clinical microwave generator delivers, in W.
MAX_MICROWAVE_POWER_W = 300.0
#: Longest microwave session accepted, in s.
MAX_MICROWAVE_DURATION_S = 2 * 3600.0
#: Highest power a clinical radiofrequency generator delivers, in W.
MAX_RF_POWER_W = 250.0
#: Longest radiofrequency session accepted, in s.
MAX_RF_DURATION_S = 2 * 3600.0
#: Coolant temperatures accepted for internally cooled RF electrodes, in °C.
RF_COOLANT_RANGE_C = (-20.0, 40.0)
#: Tine counts of the multi-tine (umbrella) electrodes accepted.
RF_TINES_RANGE = (2, 16)
#: Probe surface temperatures accepted while freezing (liquid nitrogen to the mildest gas), in °C.
CRYO_GAS_RANGE_C = (-196.0, -20.0)
#: Probe surface temperatures accepted during an active thaw, in °C.
CRYO_THAW_RANGE_C = (0.0, 60.0)
#: Longest single freeze or thaw phase accepted, in s.
MAX_CRYO_PHASE_S = 3600.0
#: Fastest injection rate accepted (10 mL/min), in m³/s: above what a needle injection delivers
#: by hand or pump.
MAX_INJECTION_RATE_M3_S = 10e-6 / 60
#: Largest volume injected at one site (50 mL), in m³.
MAX_INJECTION_VOLUME_M3 = 50e-6
#: Thickest injection needle accepted (outer diameter), in m.
MAX_INJECTION_NEEDLE_DIAMETER_M = 5e-3
#: Longest time simulated after the last infusion of an injection session, in s.
MAX_INJECTION_OBSERVE_S = 24 * 3600.0
#: Highest voltage between two electrodes, in V: the NanoKnife generator's maximum (Ben-David et
#: al., AJR 2012, used up to 3000 V in porcine liver).
MAX_IRE_VOLTAGE_V = 3000.0
#: Pulses per electrode pair accepted (clinical protocols give 70 to 100).
IRE_PULSES_RANGE = (1, 1000)
#: Pulse widths accepted (1 µs to 1 ms; clinical IRE uses 70 to 100 µs), in s.
IRE_PULSE_WIDTH_RANGE_S = (1e-6, 1e-3)
#: Pulse rates accepted (0.1 to 10 Hz; ECG-synchronised delivery is one pulse a heartbeat), in Hz.
IRE_PULSE_RATE_RANGE_HZ = (0.1, 10.0)
#: Relative round-off allowed at every limit: unit conversions round (``10 mL/min`` comes out one
#: unit in the last place above ``10e-6 / 60`` m³/s), and a value written at the limit must pass.
LIMIT_ROUND_OFF = 1e-9


def _at_most(quantity: pint.Quantity, most: float, what: str) -> pint.Quantity:
    """``quantity`` if its SI value is at most ``most`` (up to the round-off of unit conversion,
    ``LIMIT_ROUND_OFF``); ``what`` ends the message."""
    if to_si(quantity) > most * (1.0 + LIMIT_ROUND_OFF):
        raise ValueError(f"{format_quantity(quantity)} is {what}")
    return quantity


def _between(quantity: pint.Quantity, low: float, high: float, unit: str = "degC") -> pint.Quantity:
    """``quantity`` if its SI value (°C for temperatures) lies in ``[low, high]``."""
    if not low <= to_si(quantity) <= high:
        raise ValueError(
            f"must be between {low:g} {unit} and {high:g} {unit}, got {format_quantity(quantity)!r}"
        )
    return quantity


def _within(quantity: pint.Quantity, low: float, high: float, allowed: str) -> pint.Quantity:
    """``quantity`` if its SI value lies in ``[low, high]`` (up to ``LIMIT_ROUND_OFF``);
    ``allowed`` says the range in the message, e.g. ``"1 us and 1 ms"``."""
    value = to_si(quantity)
    if not low * (1.0 - LIMIT_ROUND_OFF) <= value <= high * (1.0 + LIMIT_ROUND_OFF):
        raise ValueError(f"must be between {allowed}, got {format_quantity(quantity)!r}")
    return quantity


def _injection_rate(rate: pint.Quantity) -> pint.Quantity:
    return _at_most(
        rate, MAX_INJECTION_RATE_M3_S, "faster than any needle injection (at most 10 mL/min)"
    )
