"""The treatment sessions of every modality: microwave, radiofrequency, cryo, irreversible
electroporation, prescribed heat sources and injection, with the settings of their generators and
protocols.

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
    Strict,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
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
    PositiveEnergy,
    PositiveFieldStrength,
    PositiveLength,
    PositivePower,
    PositiveResistance,
    PositiveVoltage,
    PositiveVolumeRate,
    _mm,
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
    IreElectrode,
    MicrowaveApplicator,
    RadiofrequencyElectrode,
    _segment_distance,
)
from tissuefate.scenario.limits import (
    CRYO_GAS_RANGE_C,
    CRYO_THAW_RANGE_C,
    IRE_PULSE_RATE_RANGE_HZ,
    IRE_PULSE_WIDTH_RANGE_S,
    IRE_PULSES_RANGE,
    LIMIT_ROUND_OFF,
    MAX_CRYO_PHASE_S,
    MAX_INJECTION_NEEDLE_DIAMETER_M,
    MAX_INJECTION_OBSERVE_S,
    MAX_IRE_VOLTAGE_V,
    MAX_MICROWAVE_DURATION_S,
    MAX_MICROWAVE_POWER_W,
    MAX_RF_DURATION_S,
    MAX_RF_POWER_W,
    MICROWAVE_FREQUENCY_HZ,
    _at_most,
    _between,
    _injection_rate,
    _within,
)
from tissuefate.scenario.quantities import Frequency, Temperature, format_quantity, to_si

__all__ = [
    "CryoPhase",
    "CryoSession",
    "HeatSourceSession",
    "InjectionSession",
    "IrePair",
    "IreSession",
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

    ``energy`` (optional) stops the generator once it has delivered that much (a generator's
    energy limit, or an experiment run to a set energy); ``duration`` then bounds the heating.
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
    energy: PositiveEnergy | None = None
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
    def energy_j(self) -> float | None:
        """Energy (J) after which the generator stops, or None (it runs for ``duration``)."""
        return None if self.energy is None else to_si(self.energy)

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


_ElectrodeIndex = Annotated[int, Strict(), Field(ge=0)]
_Pulses = Annotated[int, Strict(), Field(ge=IRE_PULSES_RANGE[0], le=IRE_PULSES_RANGE[1])]
_ABOVE_GENERATOR = f"above the generator's maximum ({MAX_IRE_VOLTAGE_V:g} V)"
_IreVoltage = Annotated[
    PositiveVoltage, AfterValidator(lambda v: _at_most(v, MAX_IRE_VOLTAGE_V, _ABOVE_GENERATOR))
]
#: The clinical field strength used when a session gives neither ``voltage`` nor
#: ``voltage_to_distance``: the low end of the NanoKnife recommendation for liver, 1500 to
#: 1700 V/cm (Kos et al., Radiol Oncol 2015;49(3):234–241).
_DEFAULT_VOLTAGE_TO_DISTANCE = "1500 V/cm"


class IrePair(_Model):
    """One pair of electrodes the generator pulses between: ``anode`` and ``cathode`` are
    indices into the session's ``electrodes``; ``voltage`` (at most 3000 V) and ``pulses`` (1 to
    1000), where given, replace the session's for this pair.

    The short form ``[0, 1]`` means ``{anode: 0, cathode: 1}``; a pair without a voltage or
    pulses of its own is written back that way.
    """

    anode: _ElectrodeIndex
    cathode: _ElectrodeIndex
    voltage: _IreVoltage | None = None
    pulses: _Pulses | None = None

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if not isinstance(data, list | tuple):
            return data
        if len(data) != 2:
            raise ValueError(
                f"expected a pair [anode, cathode] of electrode indices, got {_shown(data)}"
            )
        return {"anode": data[0], "cathode": data[1]}

    @model_serializer(mode="wrap")
    def _short_form(self, handler: SerializerFunctionWrapHandler) -> list[int] | dict[str, Any]:
        if self.voltage is None and self.pulses is None:
            return [self.anode, self.cathode]
        return {key: value for key, value in handler(self).items() if value is not None}


_PAIR_LIST: TypeAdapter[list[IrePair]] = TypeAdapter(list[IrePair])


class IreSession(_Timed, _Model):
    """An irreversible electroporation: the generator delivers trains of short high-voltage
    pulses between pairs of ``electrodes`` (at least 2), one pair after another.

    ``pairs`` is ``all`` (the default: every pair of electrodes i < j, anode i, cathode j) or a
    list of :class:`IrePair`. A pair's voltage is its own, else the session's ``voltage``, else
    ``voltage_to_distance`` times the distance between its two electrodes (the clinical rule; the
    NanoKnife recommendation for liver is 1500 to 1700 V/cm, Kos et al., Radiol Oncol
    2015;49(3):234–241). Give ``voltage`` or ``voltage_to_distance``, not both; with neither,
    ``voltage_to_distance`` is 1500 V/cm, filled in on validation so a dumped scenario shows it.
    No pair may get more than 3000 V, the generator's maximum.

    The distance between two electrodes is the closest approach of the axes of their exposed
    parts; it must be at least the sum of their radii (the needles may not touch).

    Each pair receives ``pulses`` (default 90, 1 to 1000) of ``pulse_width`` (default 70 µs,
    1 µs to 1 ms) at ``pulse_rate`` (default 1 Hz, 0.1 to 10 Hz: ECG-synchronised delivery, one
    pulse a heartbeat). ``conductivity_model`` picks how the tissue conductivity rises with the
    local field as its cells are porated (``linear`` or ``sigmoid``). ``cooldown`` is simulated
    after the last pulse.
    """

    modality: Literal["ire"]
    day: Day = 0
    electrodes: list[IreElectrode] = Field(min_length=2)
    pairs: Literal["all"] | list[IrePair] = "all"
    voltage: _IreVoltage | None = None
    voltage_to_distance: PositiveFieldStrength | None = None
    pulses: _Pulses = 90
    pulse_width: PositiveDuration = "70 us"  # type: ignore[assignment]
    pulse_rate: Frequency = "1 Hz"  # type: ignore[assignment]
    conductivity_model: Literal["linear", "sigmoid"] = "linear"
    cooldown: Cooldown = "auto"

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and _unset(data, "voltage")
            and _unset(data, "voltage_to_distance")
        ):
            data = {**data, "voltage_to_distance": _DEFAULT_VOLTAGE_TO_DISTANCE}
        return data

    @field_validator("pairs", mode="wrap")
    @classmethod
    def _all_or_list(
        cls, value: Any, handler: ValidatorFunctionWrapHandler
    ) -> Literal["all"] | list[IrePair]:
        # validated here rather than by the union (the handler), so that an error in a listed
        # pair is reported at its key alone, not after the union's complaint that the list is not
        # 'all'; a wrap validator, not a plain one, keeps the union's serialiser as it is
        if value == "all":
            return "all"
        if not isinstance(value, list | tuple):
            raise ValueError(
                f"expected all or a list of pairs [anode, cathode], got {_shown(value)}"
            )
        if not value:
            raise ValueError("no pairs: list at least one [anode, cathode], or write pairs: all")
        return _PAIR_LIST.validate_python(value)

    @field_validator("pulse_width")
    @classmethod
    def _pulse_width_range(cls, width: pint.Quantity) -> pint.Quantity:
        low, high = IRE_PULSE_WIDTH_RANGE_S
        return _within(width, low, high, f"{low * 1e6:g} us and {high * 1e3:g} ms")

    @field_validator("pulse_rate")
    @classmethod
    def _pulse_rate_range(cls, rate: pint.Quantity) -> pint.Quantity:
        low, high = IRE_PULSE_RATE_RANGE_HZ
        return _within(rate, low, high, f"{low:g} Hz and {high:g} Hz")

    @model_validator(mode="after")
    def _consistent(self) -> IreSession:
        if self.voltage is not None and self.voltage_to_distance is not None:
            raise KeyedValueError(
                "give voltage or voltage_to_distance, not both", "voltage_to_distance"
            )
        electrodes = self.electrodes
        for j, second in enumerate(electrodes):
            for i, first in enumerate(electrodes[:j]):
                gap = self._distance_m(i, j)
                clearance = (first.diameter_m + second.diameter_m) / 2
                if gap < clearance:
                    raise KeyedValueError(
                        f"electrode {j} comes within {_mm(gap)} of electrode {i}, closer than "
                        f"their diameters ({_mm(clearance)} axis to axis): their exposed parts "
                        "touch or overlap",
                        "electrodes",
                        j,
                    )
        if self.pairs != "all":
            self._check_pairs(self.pairs)
        for anode, cathode, volts, _, distance in self.pair_list():
            # a voltage given as such was checked by its field: this one is ratio × distance
            if volts > MAX_IRE_VOLTAGE_V * (1.0 + LIMIT_ROUND_OFF):
                ratio = format_quantity(self.voltage_to_distance)  # type: ignore[arg-type]
                raise KeyedValueError(
                    f"pair {anode}-{cathode}: {ratio} over the {_mm(distance)} between its "
                    f"electrodes gives {volts:.6g} V, {_ABOVE_GENERATOR}",
                    "voltage_to_distance",
                )
        return self

    def _check_pairs(self, pairs: list[IrePair]) -> None:
        count = len(self.electrodes)
        seen: dict[frozenset[int], int] = {}
        for p, pair in enumerate(pairs):
            for key in ("anode", "cathode"):
                index = getattr(pair, key)
                if index >= count:
                    raise KeyedValueError(
                        f"there is no electrode {index}: the session has {count} "
                        f"(0 to {count - 1})",
                        "pairs",
                        p,
                        key,
                    )
            if pair.anode == pair.cathode:
                raise KeyedValueError(
                    f"a pair needs two electrodes; anode and cathode are both {pair.anode}",
                    "pairs",
                    p,
                    "cathode",
                )
            both = frozenset((pair.anode, pair.cathode))
            if both in seen:
                raise KeyedValueError(
                    f"electrodes {pair.anode} and {pair.cathode} are already a pair "
                    f"(pairs[{seen[both]}])",
                    "pairs",
                    p,
                )
            seen[both] = p

    def _distance_m(self, i: int, j: int) -> float:
        """Closest approach of the axes of the exposed parts of electrodes i and j, in m."""
        return _segment_distance(*self.electrodes[i].segment_m, *self.electrodes[j].segment_m)

    @property
    def voltage_to_distance_v_per_m(self) -> float | None:
        """Pair voltage per distance between its electrodes in V/m; None when the session gives
        a ``voltage``."""
        return _optional_si(self.voltage_to_distance)

    @property
    def pulse_width_s(self) -> float:
        """Length of one pulse in s."""
        return to_si(self.pulse_width)

    @property
    def pulse_rate_hz(self) -> float:
        """Pulses delivered per second, in Hz."""
        return to_si(self.pulse_rate)

    @property
    def duration_s(self) -> float:
        """Length of the whole pulse train, every pair one after another, in s: the sum over
        the pairs of pulses / pulse rate."""
        return math.fsum(pulses for _, _, _, pulses, _ in self.pair_list()) / self.pulse_rate_hz

    def pair_list(self) -> list[tuple[int, int, float, int, float]]:
        """Every pair as ``(anode, cathode, voltage, pulses, distance)`` with the defaults
        resolved, in the order listed (``all``: 0-1, 0-2, ..., 1-2, ...). The voltage is in V:
        the pair's own, else the session's, else ``voltage_to_distance`` times the distance; the
        distance between the two electrodes is in m (closest approach of the axes of their
        exposed parts)."""
        if self.pairs == "all":
            count = len(self.electrodes)
            listed = [
                IrePair(anode=i, cathode=j) for i in range(count) for j in range(i + 1, count)
            ]
        else:
            listed = self.pairs
        session_v = _optional_si(self.voltage)
        resolved = []
        for pair in listed:
            distance = self._distance_m(pair.anode, pair.cathode)
            if pair.voltage is not None:
                volts = to_si(pair.voltage)
            elif session_v is not None:
                volts = session_v
            else:
                volts = self.voltage_to_distance_v_per_m * distance  # type: ignore[operator]
            pulses = self.pulses if pair.pulses is None else pair.pulses
            resolved.append((pair.anode, pair.cathode, volts, pulses, distance))
        return resolved


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
    MicrowaveSession
    | RadiofrequencySession
    | CryoSession
    | IreSession
    | HeatSourceSession
    | InjectionSession,
    Field(discriminator="modality"),
]
