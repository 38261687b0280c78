"""The devices a session places in the grid: microwave applicators, radiofrequency electrodes,
cryoprobes, irreversible electroporation electrodes, prescribed heat sources and injection
needles, and the distance between the straight parts of two of them.

Positions are in the grid's frame (relative to the grid centre, axes x, y, z matching array
indices i, j, k); a direction points along the insertion, from the shaft to the tip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import pint
from pydantic import Field, Strict, field_validator, model_validator

from tissuefate.scenario._base import (
    Direction,
    KeyedValueError,
    PositiveLength,
    PositivePower,
    PositivePowerDensity,
    PositiveVolume,
    PositiveVolumeRate,
    Vec3,
    Vec3Float,
    _Model,
    _optional_si,
    _si3,
    _unset,
)
from tissuefate.scenario.limits import (
    MAX_INJECTION_VOLUME_M3,
    RF_COOLANT_RANGE_C,
    RF_TINES_RANGE,
    _at_most,
    _between,
    _injection_rate,
)
from tissuefate.scenario.quantities import Temperature, parse_quantity, to_si

__all__ = [
    "CryoProbe",
    "HeatSource",
    "InjectionSite",
    "IreElectrode",
    "MicrowaveApplicator",
    "RadiofrequencyElectrode",
]


class MicrowaveApplicator(_Model):
    """One microwave antenna: tip position (grid frame) and insertion direction (shaft → tip).

    ``efficiency``: the fraction of the generator's power that reaches the tissue through a
    matched antenna (the rest is lost in the cable and applicator); default: the antenna model's
    fitted value (``modalities/antennas.yaml``). ``antenna``: ``internally_cooled`` (the clinical
    antenna calibrated on zone sizes; default), or the Brace group's research antennas
    ``dual_slot`` and ``monopole``.
    """

    tip: Vec3
    direction: Direction
    antenna: Literal["internally_cooled", "dual_slot", "monopole"] = "internally_cooled"
    efficiency: Annotated[float, Field(gt=0.0, le=1.0)] | None = None

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m."""
        return _si3(self.tip)


class HeatSource(_Model):
    """A prescribed heat source: a uniform sphere or a point; ``power`` (W) or ``power_density``."""

    shape: Literal["sphere", "point"]
    center: Vec3
    radius: PositiveLength | None = None
    power: PositivePower | None = None
    power_density: PositivePowerDensity | None = None

    @model_validator(mode="after")
    def _consistent(self) -> HeatSource:
        if self.shape == "sphere" and self.radius is None:
            raise KeyedValueError("a sphere needs a radius, e.g. '5 mm'", "radius")
        if self.shape == "point":
            if self.radius is not None:
                raise KeyedValueError("a point source has no radius", "radius")
            if self.power_density is not None:
                raise KeyedValueError(
                    "a point source takes a power, not a power density", "power_density"
                )
        if self.power is None and self.power_density is None:
            raise KeyedValueError("give either power or power_density", "power")
        if self.power is not None and self.power_density is not None:
            raise KeyedValueError("give power or power_density, not both", "power_density")
        return self

    @property
    def center_m(self) -> Vec3Float:
        """Centre relative to the grid centre, in m."""
        return _si3(self.center)

    @property
    def radius_m(self) -> float | None:
        """Sphere radius in m (None for a point)."""
        return _optional_si(self.radius)

    @property
    def power_w(self) -> float:
        """Total power in W (from the power density times the sphere volume if need be)."""
        if self.power is not None:
            return to_si(self.power)
        radius = to_si(self.radius)  # type: ignore[arg-type]  # checked: spheres have one
        return to_si(self.power_density) * 4.0 / 3.0 * math.pi * radius**3  # type: ignore[arg-type]

    @property
    def power_density_w_m3(self) -> float | None:
        """Power density in W/m³ when given that way, else None."""
        return _optional_si(self.power_density)


class RadiofrequencyElectrode(_Model):
    """One radiofrequency electrode: tip position (grid frame) and insertion direction
    (shaft → tip), as for microwave applicators.

    ``kind`` picks the geometry of the active (uninsulated) part, which runs from the tip back
    along the shaft:

    - ``needle``: a single straight needle of ``diameter`` with an exposed tip of
      ``active_length`` (required).
    - ``cluster``: three parallel needles of that kind, ``spacing`` apart (default 5 mm), the
      ``tip`` being the centre of their tips.
    - ``multi_tine``: ``tines`` curved tines (default 9) deployed from the shaft end at ``tip``
      and spreading to ``deployed_diameter`` (required); ``active_length`` is the tine length
      along the axis and defaults to half the deployed diameter.

    An internally ``cooled`` electrode (the default) holds its surface near
    ``coolant_temperature`` (default 10 °C, allowed -20 to 40 °C); the key is an error on an
    uncooled one. Keys that do not apply to the kind (``spacing`` off a cluster, ``tines`` and
    ``deployed_diameter`` off a multi-tine) are errors, never silently ignored. The defaults that
    depend on the kind are filled in on validation, so a dumped scenario shows them.
    """

    tip: Vec3
    direction: Direction
    kind: Literal["needle", "cluster", "multi_tine"] = "needle"
    active_length: PositiveLength | None = None
    diameter: PositiveLength = "1.5 mm"  # type: ignore[assignment]
    cooled: Annotated[bool, Strict()] = True
    coolant_temperature: Temperature | None = None
    spacing: PositiveLength | None = None
    tines: Annotated[int, Strict(), Field(ge=RF_TINES_RANGE[0], le=RF_TINES_RANGE[1])] | None = None
    deployed_diameter: PositiveLength | None = None

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kind = data.get("kind", "needle")
        if data.get("cooled", True) is True and _unset(data, "coolant_temperature"):
            data["coolant_temperature"] = "10 degC"
        if kind == "cluster" and _unset(data, "spacing"):
            data["spacing"] = "5 mm"
        if kind == "multi_tine":
            if _unset(data, "tines"):
                data["tines"] = 9
            if _unset(data, "active_length") and not _unset(data, "deployed_diameter"):
                try:
                    spread = parse_quantity(data["deployed_diameter"], "[length]", what="length")
                except ValueError:
                    spread = None  # reported by the field itself
                if spread is not None and spread.magnitude > 0:
                    data["active_length"] = spread / 2
        return data

    @field_validator("coolant_temperature")
    @classmethod
    def _coolant_range(cls, value: pint.Quantity | None) -> pint.Quantity | None:
        return None if value is None else _between(value, *RF_COOLANT_RANGE_C)

    @model_validator(mode="after")
    def _fits_kind(self) -> RadiofrequencyElectrode:
        if not self.cooled and self.coolant_temperature is not None:
            raise KeyedValueError(
                "coolant_temperature is only for a cooled electrode (cooled: true)",
                "coolant_temperature",
            )
        if self.kind != "cluster" and self.spacing is not None:
            raise KeyedValueError(f"spacing is only for kind: cluster, not {self.kind}", "spacing")
        if self.kind != "multi_tine":
            for key in ("tines", "deployed_diameter"):
                if getattr(self, key) is not None:
                    raise KeyedValueError(
                        f"{key} is only for kind: multi_tine, not {self.kind}", key
                    )
            if self.active_length is None:
                raise KeyedValueError(
                    f"a {self.kind} electrode needs an active_length (its exposed tip), "
                    "e.g. '20 mm'",
                    "active_length",
                )
        elif self.deployed_diameter is None:
            raise KeyedValueError(
                "a multi_tine electrode needs a deployed_diameter (the spread of the tine tips), "
                "e.g. '30 mm'",
                "deployed_diameter",
            )
        return self

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m (centre of the tips for a cluster)."""
        return _si3(self.tip)

    @property
    def active_length_m(self) -> float:
        """Length of the active part along the axis, behind the tip, in m."""
        return to_si(self.active_length)  # type: ignore[arg-type]  # checked or filled in

    @property
    def diameter_m(self) -> float:
        """Needle (shaft) diameter in m."""
        return to_si(self.diameter)

    @property
    def coolant_temperature_c(self) -> float | None:
        """Coolant temperature of a cooled electrode in °C; None when not cooled."""
        return _optional_si(self.coolant_temperature)

    @property
    def spacing_m(self) -> float | None:
        """Distance between the needles of a cluster in m; None for the other kinds."""
        return _optional_si(self.spacing)

    @property
    def deployed_diameter_m(self) -> float | None:
        """Spread of the tine tips of a multi-tine electrode in m; None for the other kinds."""
        return _optional_si(self.deployed_diameter)


class CryoProbe(_Model):
    """One cryoprobe: tip position (grid frame) and insertion direction (shaft → tip); it
    freezes along ``active_length`` behind the tip.

    ``cryogen``: ``argon`` (Joule–Thomson expansion of argon gas, the probes of today's
    systems; default) or ``liquid_nitrogen`` (boiling nitrogen); each has its own gas temperature
    and probe surface heat transfer (``modalities/cryoprobes.yaml``).
    """

    tip: Vec3
    direction: Direction
    diameter: PositiveLength = "2.4 mm"  # type: ignore[assignment]
    active_length: PositiveLength = "40 mm"  # type: ignore[assignment]
    cryogen: Literal["argon", "liquid_nitrogen"] = "argon"

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m."""
        return _si3(self.tip)

    @property
    def diameter_m(self) -> float:
        """Probe diameter in m."""
        return to_si(self.diameter)

    @property
    def active_length_m(self) -> float:
        """Freezing length behind the tip, in m."""
        return to_si(self.active_length)


class IreElectrode(_Model):
    """One irreversible electroporation electrode: tip position (grid frame) and insertion
    direction (shaft → tip), as for the other needles; the uninsulated ``exposure`` (default
    20 mm) behind the tip is its active part, the rest of the shaft is insulated.

    The default ``diameter`` of 1.27 mm (18 G) is that of the electrodes of Ben-David et al.,
    AJR Am J Roentgenol 2012 (abstract: cris.huji.ac.il; volume and DOI not verified).
    """

    tip: Vec3
    direction: Direction
    diameter: PositiveLength = "1.27 mm"  # type: ignore[assignment]
    exposure: PositiveLength = "20 mm"  # type: ignore[assignment]

    @property
    def tip_m(self) -> Vec3Float:
        """Tip position relative to the grid centre, in m."""
        return _si3(self.tip)

    @property
    def diameter_m(self) -> float:
        """Needle diameter in m."""
        return to_si(self.diameter)

    @property
    def exposure_m(self) -> float:
        """Length of the exposed (active) part behind the tip, in m."""
        return to_si(self.exposure)

    @property
    def segment_m(self) -> tuple[Vec3Float, Vec3Float]:
        """The axis of the exposed part as ``(start, end)`` relative to the grid centre, in m:
        from ``exposure`` behind the tip (``tip - direction * exposure``) to the tip."""
        tip = self.tip_m
        x, y, z = (p - self.exposure_m * d for p, d in zip(tip, self.direction, strict=True))
        return (x, y, z), tip


class InjectionSite(_Model):
    """One injection site: needle tip position (grid frame; scanner coordinates on an image) and
    insertion direction (shaft → tip), as for microwave applicators; ``volume`` (> 0, at most
    50 mL) is infused there at ``rate`` (> 0, at most 10 mL/min), or at the session's rate when
    ``rate`` is unset.
    ``depth`` (optional) is the needle's path in the organ, from its surface to the tip: fluid
    that flows back along the track that far escapes the organ. Unset, it is the needle's path in
    the organ mask when the anatomy comes from a segmented image, else the organ goes on beyond
    the grid along the needle."""

    tip: Vec3
    direction: Direction
    volume: PositiveVolume
    rate: PositiveVolumeRate | None = None
    depth: PositiveLength | None = None

    @field_validator("volume")
    @classmethod
    def _single_injection(cls, volume: pint.Quantity) -> pint.Quantity:
        return _at_most(
            volume,
            MAX_INJECTION_VOLUME_M3,
            "more than any single injection (at most 50 mL per site)",
        )

    @field_validator("rate")
    @classmethod
    def _site_rate(cls, rate: pint.Quantity | None) -> pint.Quantity | None:
        return None if rate is None else _injection_rate(rate)

    @property
    def tip_m(self) -> Vec3Float:
        """Needle tip position relative to the grid centre, in m."""
        return _si3(self.tip)

    @property
    def volume_m3(self) -> float:
        """Volume injected at this site, in m³."""
        return to_si(self.volume)

    @property
    def rate_m3_s(self) -> float | None:
        """Infusion rate at this site in m³/s; None means the session's rate."""
        return _optional_si(self.rate)

    @property
    def depth_m(self) -> float | None:
        """Needle path in the organ (m) from its surface to the tip; None: beyond the grid."""
        return _optional_si(self.depth)


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------


def _dot(u: Sequence[float], v: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(u, v, strict=True))


def _point_segment_distance(
    point: Sequence[float], start: Sequence[float], delta: Sequence[float], length2: float
) -> float:
    """Distance from ``point`` to the segment from ``start`` along ``delta``, whose squared
    length is ``length2``."""
    rel = [p - a for p, a in zip(point, start, strict=True)]
    t = 0.0 if length2 == 0.0 else min(1.0, max(0.0, _dot(rel, delta) / length2))
    return math.hypot(*(r - t * d for r, d in zip(rel, delta, strict=True)))


def _segment_distance(
    p1: Sequence[float], q1: Sequence[float], p2: Sequence[float], q2: Sequence[float]
) -> float:
    """Shortest distance between the segments ``p1``–``q1`` and ``p2``–``q2`` (3D points).

    Exact up to rounding: the closest pair of points is either inside both segments, where the
    lines through them come closest (found in closed form, and measured from that point of the
    first segment to the second), or has an end point of one segment,
    whose distance to the other segment is a point–segment distance. The least of these five
    candidates is the answer; this also covers parallel, nearly parallel and zero-length segments.
    """
    d1 = [b - a for a, b in zip(p1, q1, strict=True)]
    d2 = [b - a for a, b in zip(p2, q2, strict=True)]
    a, e = _dot(d1, d1), _dot(d2, d2)
    best = min(
        _point_segment_distance(p1, p2, d2, e),
        _point_segment_distance(q1, p2, d2, e),
        _point_segment_distance(p2, p1, d1, a),
        _point_segment_distance(q2, p1, d1, a),
    )
    r = [x - y for x, y in zip(p1, p2, strict=True)]
    b, c, f = _dot(d1, d2), _dot(d1, r), _dot(d2, r)
    denom = a * e - b * b  # zero for parallel lines: then an end point is among the closest
    if denom > 0.0:
        s = (b * f - c * e) / denom
        t = (a * f - b * c) / denom
        if 0.0 <= s <= 1.0 and 0.0 <= t <= 1.0:
            # the distance from the point at s to the other segment: a distance the segments do
            # reach, and one that an error δ in s (ε / sin² of the lines' angle, large for nearly
            # parallel lines) moves only by δ |d1| sin(angle), not by the error of s and t together
            point = [x0 + s * x for x0, x in zip(p1, d1, strict=True)]
            best = min(best, _point_segment_distance(point, p2, d2, e))
    return best
