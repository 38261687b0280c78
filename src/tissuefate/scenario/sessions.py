"""The treatment sessions of every modality: microwave, radiofrequency, cryo, prescribed heat
sources and injection, with the settings of their generators and protocols.

A session says when (``day``) and how a modality is delivered through the devices of
:mod:`tissuefate.scenario.devices`; :data:`Session` is their union, told apart by the
``modality`` key.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import pint
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)

from tissuefate.scenario._base import (
    Cooldown,
    Day,
    KeyedValueError,
    NonNegativeDuration,
    PositiveDuration,
    PositiveLength,
    PositivePower,
    PositiveResistance,
    PositiveVoltage,
    PositiveVolumeRate,
    _Model,
    _Name,
    _optional_si,
    _shown,
    _unset,
)
from tissuefate.scenario.devices import (
    CryoProbe,
    HeatSource,
    InjectionSite,
    MicrowaveApplicator,
    RadiofrequencyElectrode,
)
from tissuefate.scenario.limits import (
    CRYO_GAS_RANGE_C,
    CRYO_THAW_RANGE_C,
    MAX_CRYO_PHASE_S,
    MAX_INJECTION_NEEDLE_DIAMETER_M,
    MAX_INJECTION_OBSERVE_S,
    MAX_MICROWAVE_DURATION_S,
    MAX_MICROWAVE_POWER_W,
    MAX_RF_DURATION_S,
    MAX_RF_POWER_W,
    MICROWAVE_FREQUENCY_HZ,
    _at_most,
    _between,
    _injection_rate,
)
from tissuefate.scenario.quantities import Frequency, Temperature, format_quantity, to_si

__all__ = [
    "CryoPhase",
    "CryoSession",
    "HeatSourceSession",
    "InjectionSession",
    "MicrowaveSession",
    "RadiofrequencySession",
    "Rolloff",
    "Session",
]


def _cooldown_s(cooldown: Literal["auto"] | pint.Quantity) -> float | None:
    return None if isinstance(cooldown, str) else to_si(cooldown)


class _Timed:
    """Accessors of a session with a ``duration`` and a ``cooldown`` (fields of the model; not
    annotated here, so that pydantic does not take them for fields of every session)."""

    @property
    def duration_s(self) -> float:
        """Time the source is on, in s."""
        return to_si(self.duration)  # type: ignore[attr-defined]

    @property
    def cooldown_s(self) -> float | None:
        """Time simulated after the source is off, in s; None for ``"auto"``."""
        return _cooldown_s(self.cooldown)  # type: ignore[attr-defined]


class MicrowaveSession(_Timed, _Model):
    """A microwave ablation: ``power`` per applicator (W) for ``duration``, at 2.45 GHz."""

    modality: Literal["microwave"]
    day: Day = 0
    applicators: list[MicrowaveApplicator] = Field(min_length=1)
    power: PositivePower
    duration: PositiveDuration
    frequency: Frequency = "2.45 GHz"  # type: ignore[assignment]
    cooldown: Cooldown = "auto"

    @field_validator("power")
    @classmethod
    def _clinical_power(cls, power: pint.Quantity) -> pint.Quantity:
        return _at_most(
            power,
            MAX_MICROWAVE_POWER_W,
            f"above any clinical generator (at most {MAX_MICROWAVE_POWER_W:g} W per applicator)",
        )

    @field_validator("duration")
    @classmethod
    def _clinical_duration(cls, duration: pint.Quantity) -> pint.Quantity:
        return _at_most(
            duration, MAX_MICROWAVE_DURATION_S, "longer than any microwave session (at most 2 h)"
        )

    @field_validator("frequency")
    @classmethod
    def _supported_frequency(cls, frequency: pint.Quantity) -> pint.Quantity:
        if abs(to_si(frequency) / MICROWAVE_FREQUENCY_HZ - 1.0) > 0.01:
            raise ValueError(
                f"only 2.45 GHz microwave is supported, got {format_quantity(frequency)!r}"
            )
        return frequency

    @property
    def power_w(self) -> float:
        """Power delivered by each applicator, in W."""
        return to_si(self.power)

    @property
    def frequency_hz(self) -> float:
        """Microwave frequency in Hz."""
        return to_si(self.frequency)


class HeatSourceSession(_Timed, _Model):
    """Prescribed heat sources on for ``duration``: for validation against analytic solutions."""

    modality: Literal["heat_source"]
    day: Day = 0
    sources: list[HeatSource] = Field(min_length=1)
    duration: PositiveDuration
    cooldown: Cooldown = "0 s"  # type: ignore[assignment]


class Rolloff(_Model):
    """Impedance roll-off control: the generator pauses for ``pause`` when the impedance exceeds
    ``impedance_above`` or rises ``impedance_rise`` above its baseline (at least one is needed).

    Both thresholds are optional inside a ``rolloff`` mapping; the defaults of an omitted (or null)
    ``rolloff`` key are 120 Ω absolute and 15 s.
    """

    impedance_above: PositiveResistance | None = None
    impedance_rise: PositiveResistance | None = None
    pause: PositiveDuration = "15 s"  # type: ignore[assignment]

    @model_validator(mode="after")
    def _has_threshold(self) -> Rolloff:
        if self.impedance_above is None and self.impedance_rise is None:
            raise KeyedValueError(
                "give impedance_above, impedance_rise or both (or write rolloff: off)"
            )
        return self

    @property
    def impedance_above_ohm(self) -> float | None:
        """Absolute impedance threshold in Ω; None if unset."""
        return _optional_si(self.impedance_above)

    @property
    def impedance_rise_ohm(self) -> float | None:
        """Threshold of the rise above the baseline impedance in Ω; None if unset."""
        return _optional_si(self.impedance_rise)

    @property
    def pause_s(self) -> float:
        """Time the power stays off after a roll-off, in s."""
        return to_si(self.pause)


_DEFAULT_ROLLOFF = {"impedance_above": "120 ohm", "pause": "15 s"}


def _parse_rolloff(value: Any) -> Any:
    """``rolloff`` input: null → the defaults, ``off`` (YAML reads it as false) → None."""
    if value is None:
        return dict(_DEFAULT_ROLLOFF)
    if value is False or value == "off":
        return None
    if isinstance(value, dict | Rolloff):
        return value
    shown = "true" if value is True else _shown(value)  # YAML reads on, yes and true as true
    raise ValueError(
        f"expected a mapping of roll-off settings, null for the defaults or off, got {shown}"
    )


class RadiofrequencySession(_Timed, _Model):
    """A radiofrequency ablation: the generator drives ``power`` (W) into the electrodes for
    ``duration``, limited by ``voltage_limit`` and paused by impedance ``rolloff``.

    Current returns through a grounding pad: ``ground`` is a grid face (``x-`` ... ``z+``) or
    ``boundary`` (all faces). With several electrodes the generator switches between them every
    ``switching_interval`` (switching monopolar mode). ``rolloff: off`` switches roll-off control
    off; then :attr:`rolloff` is None.

    ``electrode_radius: actual`` (the default) makes each needle along a grid axis conduct current
    and, cooled, take up heat as a cylinder of its own diameter, whatever voxels draw it (a
    surface correction, ``physics/subgrid.py``); ``drawn`` leaves the voxels as drawn, so that
    the electrode's size follows the grid spacing (for comparison with earlier runs).
    """

    modality: Literal["radiofrequency"]
    day: Day = 0
    electrodes: list[RadiofrequencyElectrode] = Field(min_length=1)
    power: PositivePower
    voltage_limit: PositiveVoltage = "150 V"  # type: ignore[assignment]
    rolloff: Annotated[Rolloff | None, BeforeValidator(_parse_rolloff)] = None
    switching_interval: PositiveDuration = "10 s"  # type: ignore[assignment]
    ground: Literal["boundary", "x-", "x+", "y-", "y+", "z-", "z+"] = "boundary"
    electrode_radius: Literal["actual", "drawn"] = "actual"
    duration: PositiveDuration
    cooldown: Cooldown = "auto"

    @field_validator("power")
    @classmethod
    def _clinical_power(cls, power: pint.Quantity) -> pint.Quantity:
        return _at_most(
            power,
            MAX_RF_POWER_W,
            f"above any clinical radiofrequency generator (at most {MAX_RF_POWER_W:g} W)",
        )

    @field_validator("duration")
    @classmethod
    def _clinical_duration(cls, duration: pint.Quantity) -> pint.Quantity:
        return _at_most(
            duration, MAX_RF_DURATION_S, "longer than any radiofrequency session (at most 2 h)"
        )

    @field_serializer("rolloff", mode="wrap")
    def _dump_rolloff(self, rolloff: Rolloff | None, handler: SerializerFunctionWrapHandler) -> Any:
        return "off" if rolloff is None else handler(rolloff)

    @property
    def power_w(self) -> float:
        """Target generator power in W (shared by the electrodes when switching)."""
        return to_si(self.power)

    @property
    def voltage_limit_v(self) -> float:
        """Highest generator voltage (RMS) in V."""
        return to_si(self.voltage_limit)

    @property
    def switching_interval_s(self) -> float:
        """Time each electrode is active before the generator switches to the next, in s."""
        return to_si(self.switching_interval)


_PhaseDuration = Annotated[
    PositiveDuration,
    AfterValidator(
        lambda d: _at_most(d, MAX_CRYO_PHASE_S, "longer than any cryo phase (at most 1 h)")
    ),
]


class CryoPhase(_Model):
    """One phase of a cryoablation protocol: ``freeze: DURATION`` or ``thaw: DURATION`` (≤ 1 h).

    A thaw is ``passive`` (the default: the probe stops cooling and the tissue warms it) or
    ``active`` (the probe surface is held at the session's ``thaw_temperature``); ``mode`` is an
    error on a freeze. Written back in the short form, e.g. ``{thaw: 5 min, mode: passive}``.
    """

    freeze: _PhaseDuration | None = None
    thaw: _PhaseDuration | None = None
    mode: Literal["passive", "active"] | None = None

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if isinstance(data, dict) and not _unset(data, "thaw") and _unset(data, "mode"):
            data = {**data, "mode": "passive"}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> CryoPhase:
        if self.freeze is None and self.thaw is None:
            raise KeyedValueError("a phase needs freeze: DURATION or thaw: DURATION")
        if self.freeze is not None and self.thaw is not None:
            raise KeyedValueError(
                "a phase is a freeze or a thaw, not both; write them as two phases", "thaw"
            )
        if self.freeze is not None and self.mode is not None:
            raise KeyedValueError("mode is only for a thaw (passive or active)", "mode")
        return self

    @model_serializer(mode="wrap")
    def _short_form(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def kind(self) -> Literal["freeze", "thaw"]:
        """``"freeze"`` or ``"thaw"``."""
        return "freeze" if self.freeze is not None else "thaw"

    @property
    def duration_s(self) -> float:
        """Length of the phase in s."""
        return to_si(self.freeze if self.freeze is not None else self.thaw)  # type: ignore[arg-type]


class CryoSession(_Timed, _Model):
    """A cryoablation: the probes run the ``protocol`` of freeze and thaw phases in order.

    While freezing, each probe's coolant is at its cryogen's gas temperature (argon −185.8 °C,
    liquid nitrogen −195.8 °C), or at ``gas_temperature`` for every probe where it is given
    (-196 to -20 °C); during an active thaw at ``thaw_temperature`` (0 to 60 °C, default 20 °C). The
    protocol starts with a freeze, and every thaw follows a freeze (directly or after another
    thaw), so it holds at least one freeze. ``cooldown`` is simulated after the last phase.
    """

    modality: Literal["cryo"]
    day: Day = 0
    probes: list[CryoProbe] = Field(min_length=1)
    gas_temperature: Temperature | None = None
    thaw_temperature: Temperature = "20 degC"  # type: ignore[assignment]
    protocol: list[CryoPhase] = Field(min_length=1)
    cooldown: Cooldown = "auto"

    @field_validator("gas_temperature")
    @classmethod
    def _gas_range(cls, value: pint.Quantity | None) -> pint.Quantity | None:
        return None if value is None else _between(value, *CRYO_GAS_RANGE_C)

    @field_validator("thaw_temperature")
    @classmethod
    def _thaw_range(cls, value: pint.Quantity) -> pint.Quantity:
        return _between(value, *CRYO_THAW_RANGE_C)

    @field_validator("protocol")
    @classmethod
    def _freeze_first(cls, protocol: list[CryoPhase]) -> list[CryoPhase]:
        for index, phase in enumerate(protocol):
            if phase.kind == "freeze":
                break
            raise KeyedValueError("a thaw needs a freeze before it", index, "thaw")
        return protocol

    @property
    def gas_temperature_c(self) -> float | None:
        """Coolant temperature of every probe while freezing (°C); None: each probe's cryogen's."""
        return None if self.gas_temperature is None else to_si(self.gas_temperature)

    @property
    def thaw_temperature_c(self) -> float:
        """Probe surface temperature during an active thaw, in °C."""
        return to_si(self.thaw_temperature)

    @property
    def phases(self) -> tuple[tuple[Literal["freeze", "thaw"], float, str | None], ...]:
        """The protocol as ``(kind, duration in s, mode)``; mode is None for a freeze."""
        return tuple((p.kind, p.duration_s, p.mode) for p in self.protocol)

    @property
    def freeze_time_s(self) -> float:
        """Total freezing time of the protocol, in s."""
        return sum(p.duration_s for p in self.protocol if p.kind == "freeze")

    @property
    def duration_s(self) -> float:
        """Total length of the protocol (freezes and thaws), in s."""
        return sum(p.duration_s for p in self.protocol)


class InjectionSession(_Model):
    """An intratumoral injection of a chemical ``agent`` (the name of an agent preset) through a
    needle of outer ``needle_diameter`` (default 0.7 mm, 22 G; at most 5 mm) at each of ``sites``.

    ``agent_parameters`` override values of the agent preset (``{parameter: "value with
    units"}``); the agent name and the parameter names are checked against the presets elsewhere,
    not here. Each site is infused at its own ``rate`` or the session's ``rate`` (default
    10 mL/h, at most 10 mL/min); ``order`` says whether the sites are infused one after another in
    the listed order (``sequential``, the default) or all at once (``simultaneous``). ``observe``
    (default 1 h, at most 24 h) is the time simulated after the last infusion ends.

    Unlike the heating and freezing sessions it has no ``duration`` or ``cooldown`` key, but it
    gives :attr:`duration_s` (the infusion time) and :attr:`cooldown_s` (the observation time), so
    code that describes any session by them works.
    """

    modality: Literal["injection"]
    day: Day = 0
    agent: _Name
    agent_parameters: dict[_Name, str] = Field(default_factory=dict)
    sites: list[InjectionSite] = Field(min_length=1)
    rate: PositiveVolumeRate = "10 mL/h"  # type: ignore[assignment]
    needle_diameter: PositiveLength = "0.7 mm"  # type: ignore[assignment]
    order: Literal["sequential", "simultaneous"] = "sequential"
    observe: NonNegativeDuration = "1 h"  # type: ignore[assignment]

    @field_validator("rate")
    @classmethod
    def _session_rate(cls, rate: pint.Quantity) -> pint.Quantity:
        return _injection_rate(rate)

    @field_validator("needle_diameter")
    @classmethod
    def _needle_size(cls, diameter: pint.Quantity) -> pint.Quantity:
        return _at_most(
            diameter,
            MAX_INJECTION_NEEDLE_DIAMETER_M,
            "thicker than any injection needle (at most 5 mm)",
        )

    @field_validator("observe")
    @classmethod
    def _observe_time(cls, observe: pint.Quantity) -> pint.Quantity:
        return _at_most(
            observe,
            MAX_INJECTION_OBSERVE_S,
            "longer than any observation after an injection (at most 24 h)",
        )

    @property
    def rate_m3_s(self) -> float:
        """Session infusion rate (for the sites without their own) in m³/s."""
        return to_si(self.rate)

    @property
    def needle_diameter_m(self) -> float:
        """Outer needle diameter in m."""
        return to_si(self.needle_diameter)

    @property
    def observe_s(self) -> float:
        """Time simulated after the last infusion ends, in s."""
        return to_si(self.observe)

    @property
    def site_rates_m3_s(self) -> tuple[float, ...]:
        """Infusion rate of each site (its own, else the session's) in m³/s, in site order."""
        session = self.rate_m3_s
        return tuple(session if site.rate_m3_s is None else site.rate_m3_s for site in self.sites)

    @property
    def site_durations_s(self) -> tuple[float, ...]:
        """Infusion time of each site (volume / rate) in s, in site order."""
        return tuple(
            site.volume_m3 / rate
            for site, rate in zip(self.sites, self.site_rates_m3_s, strict=True)
        )

    @property
    def volume_m3(self) -> float:
        """Total volume injected over all sites, in m³."""
        return math.fsum(site.volume_m3 for site in self.sites)

    @property
    def infusion_time_s(self) -> float:
        """Time from the first infusion start to the last infusion end, in s: the sum of the site
        durations when sequential, the longest when simultaneous."""
        durations = self.site_durations_s
        return math.fsum(durations) if self.order == "sequential" else max(durations)

    @property
    def duration_s(self) -> float:
        """Time the agent flows (:attr:`infusion_time_s`), in s."""
        return self.infusion_time_s

    @property
    def cooldown_s(self) -> float:
        """Time simulated after the last infusion ends (:attr:`observe_s`), in s."""
        return self.observe_s


#: One treatment session; the ``modality`` key picks the model.
Session = Annotated[
    MicrowaveSession | RadiofrequencySession | CryoSession | HeatSourceSession | InjectionSession,
    Field(discriminator="modality"),
]
