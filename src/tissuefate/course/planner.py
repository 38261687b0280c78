"""The planner of ``ablate_visible``: aim the devices, then find the session that covers the target.

The planner places one applicator (microwave), electrode (radiofrequency) or ring of probes (cryo)
through the centre of each target lesion, or a ring of electrodes around it (IRE), along the
template's first device ``direction`` (default ``[0, 0, -1]``), with the tip placed so that the
device's heating (or freezing) centre sits at the lesion centre (:func:`heating_offset_m`). It then
asks the session model itself what that placement does: on the grid coarsened by 2
(:func:`coarse_world`) it searches the shortest duration (at the template's power) or, for cryo, the
fewest probes per lesion (with the template's protocol), for IRE the fewest electrodes around each
lesion (:func:`ire_electrodes`), whose zone (Ω ≥ ``ZONE_OMEGA``) covers the target: the lesion
voxels grown by the policy's margin (:func:`target_mask`). Zones need not be centred on the heating
centre (a cooled antenna's grows back along its shaft), so for microwave and radiofrequency the
planner then moves each device along its axis by the offset of its zone's centre from the lesion's
(``aim_correction_mm`` in the record, when at least half a coarse voxel) and searches again; it
keeps the first aim when only the first found a covering session. A target the device limits cannot
cover is reported (``predicted_covered: False`` and a ``reason``), never silently under-treated. The
controller runs the session at full resolution: that is the verifying run.

Electrodes and cryoprobes are held voxels (a voxel mask of the needle), so their size on a grid
depends on where the axis falls: on a face between voxels it takes both, doubling the held
cross-section on the coarse grid (two probes froze 6.1 mL there against 3.5 mL at full resolution in
``tests/course/test_planner.py``). The planner therefore moves the axis of an electrode or probe
that runs along a grid axis onto the nearest line of coarse voxel centres (at most one fine voxel
per axis), where it holds one coarse voxel and the 2×2 fine voxels around it on the fine grid: the
same cross-section on both grids. Microwave antennas are a continuous source and stay where aimed.

What the planner chose is a *model input* computed from a modelled scan, not a treatment plan.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from ..damage.zone import ZONE_OMEGA, damage_of, min_margin
from ..grid.anatomy import Anatomy
from ..grid.grid import Grid
from ..modalities import RUNNERS, SessionContext, ThermalOptions
from ..modalities.ire import electrodes_apart
from ..modalities.microwave import antenna_pattern
from ..scenario.course import AblateVisible, SessionTemplate
from ..scenario.models import (
    MAX_IRE_VOLTAGE_V,
    MAX_MICROWAVE_DURATION_S,
    MAX_RF_DURATION_S,
    CryoSession,
    IreSession,
    MicrowaveSession,
    RadiofrequencySession,
    Scenario,
)
from ..scenario.quantities import ureg
from ..tissue.presets import TissueModel
from ..tissue.state import TissueState

__all__ = [
    "CRYO_RING_RADIUS_M",
    "DEFAULT_DIRECTION",
    "IRE_MAX_PAIR_DISTANCE_M",
    "IRE_MIN_RING_RADIUS_M",
    "IRE_MIN_SPACING_M",
    "MAX_CRYO_PROBES",
    "MAX_DURATION_S",
    "MAX_IRE_ELECTRODES",
    "MIN_DURATION_S",
    "NOTE",
    "PlanningContext",
    "aim",
    "coarse_world",
    "heating_offset_m",
    "ire_electrodes",
    "plan_ablation",
    "target_mask",
]

logger = logging.getLogger(__name__)

Planned = MicrowaveSession | RadiofrequencySession | CryoSession | IreSession

NOTE = "planned by the model from a modelled scan: a model input, not a treatment plan"
DEFAULT_DIRECTION = (0.0, 0.0, -1.0)
"""Insertion direction (shaft → tip) when the template gives none: along −z, as in the examples."""
MIN_DURATION_S = 60.0
"""Shortest session the planner considers, in s."""
MAX_DURATION_S = {"microwave": MAX_MICROWAVE_DURATION_S, "radiofrequency": MAX_RF_DURATION_S}
"""Longest session of each heating modality (s): the limit of its scenario model."""
MAX_CRYO_PROBES = 4
"""Most cryoprobes per lesion the planner tries."""
CRYO_RING_RADIUS_M = 6e-3
"""Radius (m) of the ring on which 2 or more probes of one lesion stand. One 2.4 mm argon probe
freezes a lethal (≤ −30 °C) ball of 12 mm diameter in 15 min (Littrup et al., JVIR 2009: the one
number ``modalities/cryoprobes.yaml`` is fitted to). On a ring of that lethal radius the ring's
centre lies on every probe's lethal isotherm and neighbours stand at most 12 mm apart (2 probes:
12 mm, 3: 10.4 mm, 4: 8.5 mm), so their lethal balls overlap into one zone about the centre."""
MAX_IRE_ELECTRODES = 6
"""Most IRE electrodes around one lesion the planner tries (the NanoKnife generator drives six)."""
IRE_MIN_RING_RADIUS_M = 5e-3
"""Smallest radius (m) of the ring of IRE electrodes around a lesion: two electrodes 10 mm apart
(:data:`IRE_MIN_SPACING_M`)."""
IRE_MIN_SPACING_M = 10e-3
"""Closest two neighbouring IRE electrodes of a ring stand (m): the ring widens beyond the lesion
to keep them this far apart. An assumption, below the 15–25 mm Ben-David et al. (AJR 2012) tried,
that keeps neighbours on the 2 mm search grid of a 1 mm course apart by 5 voxels."""
IRE_MAX_PAIR_DISTANCE_M = 25e-3
"""Electrodes further apart than this (m) are not pulsed as a pair: the widest spacing of
Ben-David et al. (AJR 2012); clinical spacings are 1.5–2.0 cm."""
_SEARCH_FACTOR = 2
_DEVICE_KEYS = {
    "microwave": "applicators",
    "radiofrequency": "electrodes",
    "cryo": "probes",
    "ire": "electrodes",
}


@dataclass
class PlanningContext:
    """What the planner sees: the world of the course and its current tissue.

    ``state`` is the current tissue state on ``grid``; the planner never changes it. ``options``
    are the thermal solver settings and ``impl`` the kernel implementation of the course's
    sessions. ``scenario`` is the course's scenario (for the record; the coarse anatomy is
    reduced from ``anatomy``, see :func:`coarse_world`).
    """

    scenario: Scenario
    grid: Grid
    tissue: TissueModel
    anatomy: Anatomy
    state: TissueState
    options: ThermalOptions
    impl: str


# -- aiming ---------------------------------------------------------------------------------------
def _first_device(template: SessionTemplate) -> Any:
    """The template's first device with its defaults filled in (position a stand-in)."""
    return getattr(template.example(), str(template.device_key))[0]


def _direction(template: SessionTemplate) -> np.ndarray:
    """Unit insertion direction of the template's first device (shaft → tip)."""
    devices = template.values.get(str(template.device_key)) or [{}]
    given = devices[0].get("direction") if isinstance(devices[0], dict) else None
    d = np.asarray(DEFAULT_DIRECTION if given is None else given, dtype=float)
    return d / np.linalg.norm(d)


def heating_offset_m(template: SessionTemplate) -> float:
    """Distance (m) from the device tip back along the shaft to its heating or freezing centre.

    Negative when the centre lies ahead of the tip. From the device models:

    - microwave: the antenna's ``center`` in ``modalities/antennas.yaml`` (7 mm for every
      antenna), around which :func:`~tissuefate.physics.microwave.emitter_density` places the
      emitting segment;
    - radiofrequency ``needle`` and ``cluster``: half the ``active_length``
      (:func:`~tissuefate.grid.needles.needle_segment` runs it back from the tip);
    - radiofrequency ``multi_tine``: minus half the tines' reach ahead of the cannula tip,
      ``sqrt(L² − (D/2)²)`` (:func:`~tissuefate.grid.needles.multi_tine_segments`);
    - cryo: half the probe's freezing ``active_length`` (``modalities/cryo.py`` holds that length
      behind the tip at the gas temperature);
    - ire: half the electrodes' ``exposure``.
    """
    device = _first_device(template)
    if template.modality == "ire":
        return 0.5 * float(device.exposure_m)
    if template.modality == "microwave":
        return float(antenna_pattern(device.antenna).center)
    if template.modality == "radiofrequency" and device.kind == "multi_tine":
        radius = 0.5 * device.deployed_diameter_m
        return -0.5 * math.sqrt(max(device.active_length_m**2 - radius**2, 0.0)) + 0.0
    return 0.5 * float(device.active_length_m)


def _ring(n: int, direction: np.ndarray, radius: float = CRYO_RING_RADIUS_M) -> np.ndarray:
    """Offsets (m), shape (n, 3): 0 for one probe, else ``n`` points evenly on a circle of
    ``radius`` (m) perpendicular to ``direction``."""
    if n == 1:
        return np.zeros((1, 3))
    helper = np.eye(3)[int(np.argmin(np.abs(direction)))]
    e1 = np.cross(direction, helper)
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(direction, e1)
    angles = 2.0 * math.pi * np.arange(n) / n
    return radius * (np.cos(angles)[:, None] * e1 + np.sin(angles)[:, None] * e2)


def aim(
    template: SessionTemplate,
    lesions: Iterable[Mapping[str, Any]],
    probes: int = 1,
    along: Mapping[int, float] | None = None,
) -> list[dict[str, Any]]:
    """Device positions through the centre of each lesion.

    Parameters
    ----------
    template
        A thermal session template (microwave, radiofrequency or cryo).
    lesions
        Scan lesions (``Scan.as_dict()["lesions"]`` entries): ``label`` and ``center_mm`` (grid
        frame, mm).
    probes
        Cryo only: probes per lesion, ≥ 1 (1 at the centre; more on a ring of
        :data:`CRYO_RING_RADIUS_M` about it). Other modalities get one device per lesion.
    along
        Per lesion label, a further shift (m) of its devices along ``direction`` (deeper when
        positive): the correction :func:`plan_ablation` makes when the zone's centre does not
        fall on the lesion's.

    Returns
    -------
    list of dict
        One per device: ``lesion`` (label), ``tip_mm`` (grid frame, mm) and unit ``direction``;
        the tip lies :func:`heating_offset_m` ahead of the heating centre along ``direction``.
    """
    direction = _direction(template)
    offset = heating_offset_m(template)
    ring = _ring(probes if template.modality == "cryo" else 1, direction)
    devices = []
    for lesion in lesions:
        centre = np.asarray(lesion["center_mm"], dtype=float) * 1e-3
        extra = (along or {}).get(int(lesion["label"]), 0.0)
        for shift in ring:
            tip = centre + shift + (offset + extra) * direction
            devices.append(
                {
                    "lesion": int(lesion["label"]),
                    "tip_mm": [round(float(c) * 1e3, 6) + 0.0 for c in tip],
                    "direction": [float(c) for c in direction],
                }
            )
    return devices


def ire_electrodes(
    template: SessionTemplate,
    lesions: Iterable[Mapping[str, Any]],
    electrodes: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """IRE electrodes around each lesion (each target of :func:`ire_targets`), and the pairs
    pulsed between them.

    ``electrodes`` (≥ 2) stand evenly on a ring perpendicular to the insertion direction, of the
    target's radius (at least :data:`IRE_MIN_RING_RADIUS_M`, and wider where neighbours would
    stand closer than :data:`IRE_MIN_SPACING_M`): electrodes that bracket the lesion, its centre
    halfway along their exposure. Each electrode is pulsed with its two neighbours on
    the ring and, for an even number, the one opposite (4 electrodes: the 4 sides and 2 diagonals;
    6: 9 pairs, as in the Go-Smart IRE example), where they stand at most
    :data:`IRE_MAX_PAIR_DISTANCE_M` apart, at the template's ``voltage_to_distance`` times their
    distance, capped at the generator's 3000 V. Electrodes are not moved onto voxel centres (as
    cryoprobes are): the field solver gives a drawn needle its true radius wherever it falls.
    Returns the devices (as :func:`aim`'s) and the pairs (``anode``, ``cathode``, ``voltage`` in
    V, ``distance_mm``).
    """
    direction = _direction(template)
    offset = heating_offset_m(template)
    ratio = _first_ire(template).voltage_to_distance_v_per_m or 0.0
    devices: list[dict[str, Any]] = []
    pairs: list[dict[str, Any]] = []
    for lesion in ire_targets(template, lesions):
        centre = np.asarray(lesion["center_mm"], dtype=float) * 1e-3
        # neighbours at least IRE_MIN_SPACING_M apart
        radius = _ring_radius(1e-3 * float(lesion["diameter_mm"]), electrodes)
        first = len(devices)
        for shift in _ring(electrodes, direction, radius):
            tip = centre + shift + offset * direction
            devices.append(
                {
                    "lesion": int(lesion["label"]),
                    "tip_mm": [round(float(c) * 1e3, 6) + 0.0 for c in tip],
                    "direction": [float(c) for c in direction],
                }
            )
        for a, c in _ring_pairs(electrodes):
            distance = float(
                np.linalg.norm(
                    np.subtract(devices[first + a]["tip_mm"], devices[first + c]["tip_mm"])
                )
            )
            if distance * 1e-3 <= IRE_MAX_PAIR_DISTANCE_M * (1 + 1e-9):
                volts = min(ratio * distance * 1e-3, MAX_IRE_VOLTAGE_V)
                pairs.append(
                    {
                        "anode": first + a,
                        "cathode": first + c,
                        "voltage": round(volts, 3),
                        "distance_mm": distance,
                    }
                )
    return devices, pairs


def _ring_radius(diameter_m: float, electrodes: int = MAX_IRE_ELECTRODES) -> float:
    """Radius (m) of the ring of ``electrodes`` around a lesion of ``diameter_m``."""
    radius = max(0.5 * diameter_m, IRE_MIN_RING_RADIUS_M)
    if electrodes > 2:
        radius = max(radius, IRE_MIN_SPACING_M / (2.0 * math.sin(math.pi / electrodes)))
    return radius


def ire_targets(
    template: SessionTemplate, lesions: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The lesions one ring of IRE electrodes each surrounds: lesions whose rings would cross are
    one target.

    Two rings cross where their electrodes' exposed parts overlap along the insertion direction
    (the centres closer than the exposure along it) and the rings, at their widest (six
    electrodes), stand closer than :data:`IRE_MIN_SPACING_M` across it: two lesions one above the
    other on the needles' line would otherwise get electrodes on the same lines. Such lesions
    become one target (repeated until none cross): centred between their extents along the
    direction and between their centres across it, as wide across the direction as the lesions
    together. Each target keeps its first lesion's ``label`` and lists all in ``labels``.
    """
    direction = _direction(template)
    exposure = _first_ire(template).electrodes[0].exposure_m
    targets = [
        {
            "label": int(les["label"]),
            "labels": [int(les["label"])],
            "center_m": np.asarray(les["center_mm"], float) * 1e-3,
            "diameter_m": float(les["diameter_mm"]) * 1e-3,
            "half_length_m": 0.5e-3 * float(les["diameter_mm"]),
        }
        for les in lesions
    ]

    def across(d: np.ndarray) -> float:
        return float(np.linalg.norm(d - np.dot(d, direction) * direction))

    def cross(a: dict[str, Any], b: dict[str, Any]) -> bool:
        d = b["center_m"] - a["center_m"]
        reach = _ring_radius(a["diameter_m"]) + _ring_radius(b["diameter_m"])
        return abs(float(np.dot(d, direction))) < exposure and across(d) < (
            reach + IRE_MIN_SPACING_M
        )

    def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        along = [float(np.dot(t["center_m"], direction)) for t in (a, b)]
        low = min(x - t["half_length_m"] for x, t in zip(along, (a, b), strict=True))
        high = max(x + t["half_length_m"] for x, t in zip(along, (a, b), strict=True))
        middle = 0.5 * (a["center_m"] + b["center_m"])
        centre = middle + (0.5 * (low + high) - float(np.dot(middle, direction))) * direction
        width = max(2.0 * across(t["center_m"] - centre) + t["diameter_m"] for t in (a, b))
        return {
            "label": a["label"],
            "labels": a["labels"] + b["labels"],
            "center_m": centre,
            "diameter_m": width,
            "half_length_m": 0.5 * (high - low),
        }

    merged = True
    while merged:
        merged = False
        for i in range(len(targets)):
            j = next((j for j in range(i + 1, len(targets)) if cross(targets[i], targets[j])), None)
            if j is not None:
                targets[i] = merge(targets[i], targets.pop(j))
                merged = True
                break
    return [
        {
            "label": t["label"],
            "labels": t["labels"],
            "center_mm": [float(c) * 1e3 for c in t["center_m"]],
            "diameter_mm": t["diameter_m"] * 1e3,
        }
        for t in targets
    ]


def _ring_pairs(n: int) -> list[tuple[int, int]]:
    """Index pairs of ``n`` electrodes on a ring: neighbours, and opposites for an even ``n``."""
    pairs = {tuple(sorted((i, (i + 1) % n))) for i in range(n)}
    if n % 2 == 0 and n > 2:
        pairs |= {(i, i + n // 2) for i in range(n // 2)}
    return sorted(pairs)


def _ire_pairs(template: SessionTemplate, lesions: list[Mapping[str, Any]], n: int) -> bool:
    """Whether ``n`` electrodes around every lesion give each lesion a pair."""
    devices, pairs = ire_electrodes(template, lesions, n)
    # each target's devices carry its label
    return {devices[p["anode"]]["lesion"] for p in pairs} == {d["lesion"] for d in devices}


def _first_ire(template: SessionTemplate) -> IreSession:
    example = template.example()
    if not isinstance(example, IreSession):
        raise TypeError(f"not an ire template: {template.modality}")
    return example


def _snapped(device: dict[str, Any], grid: Grid) -> dict[str, Any]:
    """``device`` (an :func:`aim` entry) with its tip moved to the centre of its voxel of
    ``grid`` along each axis its direction is perpendicular to (see the module docstring)."""
    tip = np.asarray(device["tip_mm"]) * 1e-3
    step = grid.spacing
    lower = grid.lower
    centre = lower + (np.floor((tip - lower) / step) + 0.5) * step
    across = np.abs(np.asarray(device["direction"])) < 1e-9
    tip = np.where(across, centre, tip)
    return {**device, "tip_mm": [round(float(c) * 1e3, 6) + 0.0 for c in tip]}


# -- the coarse world -----------------------------------------------------------------------------
def _blocks(values: np.ndarray) -> np.ndarray:
    """``values`` (nx, ny, nz), odd sides padded by edge replication, as blocks of 2×2×2: shape
    (cx, cy, cz, 8)."""
    f = _SEARCH_FACTOR
    padded = np.pad(values, [(0, -n % f) for n in values.shape], mode="edge")
    cx, cy, cz = (n // f for n in padded.shape)
    blocks = padded.reshape(cx, f, cy, f, cz, f).transpose(0, 2, 4, 1, 3, 5)
    return blocks.reshape(cx, cy, cz, f**3)


def _any(mask: np.ndarray) -> np.ndarray:
    """True in a coarse voxel when any fine voxel of its block is."""
    return _blocks(mask).any(axis=-1)


def coarse_world(ctx: PlanningContext) -> SessionContext:
    """The planning context on the grid coarsened by 2, as a session context to run sessions on.

    The coarse grid has voxels of twice the edge and the same lower corner, so scenario positions
    mean the same points (a side of odd length gains half a coarse voxel at its upper end). Each
    state field is the mean over the 2×2×2 block. The anatomy is reduced from the fine one rather
    than rasterised again, so it agrees with the averaged state and a vessel thinner than the
    coarse grid resolves is kept: a coarse voxel is vessel (held at blood temperature) when any
    voxel of its block is, which errs toward a stronger heat sink, i.e. a longer plan; tumour
    fraction is the block mean, and the material and tumour of the block's most tumorous voxel
    name it where that mean reaches 0.5 (the rule of
    :func:`~tissuefate.grid.anatomy.build_anatomy`).
    """
    fine = ctx.anatomy
    grid = Grid(
        shape=tuple(math.ceil(n / _SEARCH_FACTOR) for n in ctx.grid.shape),
        spacing=ctx.grid.spacing * _SEARCH_FACTOR,
        origin=ctx.grid.origin,
    )
    fraction_blocks = _blocks(fine.tumor_fraction)
    fraction = fraction_blocks.mean(axis=-1, dtype=np.float64).astype(np.float32)
    most = np.argmax(fraction_blocks, axis=-1)[..., None]
    tumor_id = np.take_along_axis(_blocks(fine.tumor_id), most, axis=-1)[..., 0]
    material = np.take_along_axis(_blocks(fine.material), most, axis=-1)[..., 0]
    vessel = _any(fine.vessel)
    tumor_id = np.where((fraction > 0) & ~vessel, tumor_id, 0).astype(np.uint8)
    material = np.where((fraction >= 0.5) & ~vessel, material, 0).astype(np.uint8)
    fraction[vessel] = 0.0
    anatomy = dataclasses.replace(
        fine,
        grid=grid,
        material=material,
        tumor_fraction=fraction,
        tumor_id=tumor_id,
        vessel=vessel,
    )
    state = TissueState(
        **{
            name: _blocks(values).mean(axis=-1, dtype=np.float64).astype(np.float32)
            for name, values in ctx.state.as_dict().items()
        }
    )
    return SessionContext(grid, anatomy, ctx.tissue, state, ctx.options, ctx.impl)


def target_mask(
    labels: np.ndarray, targets: Iterable[int], margin_m: float, spacing_m: float
) -> np.ndarray:
    """Voxels within ``margin_m`` (m, Euclidean, between voxel centres) of the target lesions.

    ``labels`` are a scan's lesion labels (int, grid shape), ``targets`` the labels to ablate and
    ``spacing_m`` the voxel edge in m. Returns a bool array of the grid shape.
    """
    lesion = np.isin(labels, list(targets))
    if margin_m <= 0 or not lesion.any():
        return lesion
    distance = ndimage.distance_transform_edt(~lesion, sampling=spacing_m)
    return distance <= margin_m * (1.0 + 1e-9)


# -- the search -----------------------------------------------------------------------------------
def _zone(world: SessionContext, session: Planned) -> np.ndarray:
    """The zone (bool) of ``session`` run on a fresh copy of ``world``'s state."""
    trial = dataclasses.replace(world, state=world.state.copy(), progress=None)
    fields = RUNNERS[session.modality](trial, session, "planning").fields
    return np.asarray(damage_of(fields)) >= ZONE_OMEGA


def _shortest(covers: Callable[[float], bool], shortest: float, longest: float) -> float | None:
    """Shortest duration (s) in [``shortest``, ``longest``] for which ``covers`` holds, to within
    ``max(10 %, 30 s)``; None if ``longest`` does not cover.

    Doubles from ``shortest`` until a duration covers (cheaper than starting at ``longest``, as
    the cost of a try grows with its duration), then bisects between the longest failing and the
    shortest covering duration. Assumes the zone grows with the duration.
    """
    failed, tried = None, shortest
    while not covers(tried):
        if tried >= longest:
            return None
        failed, tried = tried, min(2.0 * tried, longest)
    covering = tried
    while failed is not None and covering - failed > max(0.1 * covering, 30.0):
        middle = float(round(0.5 * (failed + covering)))
        if covers(middle):
            covering = middle
        else:
            failed = middle
    return covering


def plan_ablation(
    ctx: PlanningContext,
    policy: AblateVisible,
    scan: Mapping[str, Any],
    labels: np.ndarray,
    day: float,
    targets: list[int] | None = None,
) -> tuple[Planned, dict[str, Any]]:
    """The session that covers the target lesions with the policy's margin, and its record.

    Parameters
    ----------
    ctx
        The world and current tissue (not changed).
    policy
        The ``ablate_visible`` policy: ``margin_m``, ``max_duration_s`` and the session template.
    scan
        A scan record (``Scan.as_dict()``) of ``ctx.state``; ``labels`` its lesion labels (int,
        grid shape).
    day
        Day of the session (days).
    targets
        Labels of the lesions to ablate; None for the visible ones.

    Returns
    -------
    session, record
        The session (``policy.session`` instantiated on ``day``) and a JSON-able record:
        ``modality``, ``targets`` (``label``, ``center_mm``, ``diameter_mm``), ``devices``,
        ``duration_s`` (or ``probes`` per lesion and ``protocol_s`` for cryo), ``margin_mm``
        (asked), ``predicted_covered``, ``predicted_margin_mm`` (lesion to zone edge on the
        search grid, mm; negative when lesion is left out, None without any zone), ``tries``
        (``[duration_s or probes, covered]`` in order), ``search_grid`` (``shape``,
        ``spacing_mm``), ``reason`` (None, or why the target is not covered) and ``note``.
        When no try covers, the session is the largest one the limits allow.

    Raises
    ------
    ValueError
        If there is no lesion to target.
    """
    wanted = set(targets) if targets is not None else None
    lesions = [
        les
        for les in scan["lesions"]
        if (les["visible"] if wanted is None else int(les["label"]) in wanted)
    ]
    if not lesions:
        raise ValueError("nothing to ablate: no visible lesion (or none of the given labels)")
    template = policy.session
    modality = template.modality
    key = _DEVICE_KEYS[modality]
    chosen = [int(les["label"]) for les in lesions]
    world = coarse_world(ctx)
    lesion = _any(np.isin(labels, chosen)) & ~world.anatomy.vessel
    target = _any(target_mask(labels, chosen, policy.margin_m, ctx.grid.spacing))
    target &= ~world.anatomy.vessel  # the lumen of a large vessel is not tissue to ablate
    tries: list[list[Any]] = []
    zones: dict[float, np.ndarray] = {}
    along: dict[int, float] = {}

    def session_for(amount: float) -> tuple[Planned, list[dict[str, Any]]]:
        fills: dict[str, Any] = {}
        if modality == "ire":  # electrodes act at their true radius wherever they fall: no snap
            devices, pairs = ire_electrodes(template, lesions, int(amount))
            fills["pairs"] = [
                {"anode": p["anode"], "cathode": p["cathode"], "voltage": f"{p['voltage']!r} V"}
                for p in pairs
            ]
        elif modality == "cryo":
            devices = aim(template, lesions, probes=int(amount))
        else:
            devices = aim(template, lesions, along=along)
            fills["duration"] = ureg.Quantity(float(amount), "s")
        if modality in ("radiofrequency", "cryo"):
            devices = [_snapped(d, world.grid) for d in devices]
        entries = [
            {"tip": [ureg.Quantity(c, "mm") for c in d["tip_mm"]], "direction": d["direction"]}
            for d in devices
        ]
        return template.instantiate(day, **{key: entries}, **fills), devices

    def covers(amount: float) -> bool:
        zones[amount] = _zone(world, session_for(amount)[0])
        covered = not (target & ~zones[amount]).any()
        tries.append([int(amount) if modality in ("cryo", "ire") else amount, covered])
        logger.info("planning %s: %g -> covered %s", modality, amount, covered)
        return covered

    if modality == "cryo":
        found = next((float(n) for n in range(1, MAX_CRYO_PROBES + 1) if covers(float(n))), None)
        largest = float(MAX_CRYO_PROBES)
    elif modality == "ire":
        counts = [
            n
            for n in range(2, MAX_IRE_ELECTRODES + 1)
            if _ire_pairs(template, lesions, n)
            and all(electrodes_apart(g, session_for(n)[0]) for g in (world.grid, ctx.grid))
        ]
        if not counts:
            raise ValueError(
                "no ring of IRE electrodes around these lesions has electrodes within "
                f"{IRE_MAX_PAIR_DISTANCE_M * 1e3:g} mm of each other to pulse as pairs, drawn "
                "apart on the search grid"
            )
        found = next((float(n) for n in counts if covers(float(n))), None)
        largest = float(counts[-1])
    else:
        largest = min(policy.max_duration_s or math.inf, MAX_DURATION_S[modality])
        found = _shortest(covers, min(MIN_DURATION_S, largest), largest)
        # aim again so that the zone, not the device's heating centre, is centred on each lesion
        # (zones grow back along the shaft: by 2.5 mm for a cooled antenna's 5 min zone)
        first = (found, list(tries), dict(zones))
        along = _recentring(
            zones[largest if found is None else found], world.grid, lesions, template
        )
        if any(abs(v) >= 0.5 * world.grid.spacing for v in along.values()):
            tries.clear()
            zones.clear()
            found = _shortest(covers, min(MIN_DURATION_S, largest), largest)
            if found is None and first[0] is not None:  # keep the aim that covered
                along = {}
                found, tries[:], zones = first[0], first[1], first[2]
        else:
            along = {}
    amount = largest if found is None else found
    session, devices = session_for(amount)
    margin = min_margin(lesion, zones[amount], world.grid.spacing * 1e3)
    record: dict[str, Any] = {
        "modality": modality,
        "targets": [
            {
                "label": int(les["label"]),
                "center_mm": [float(c) for c in les["center_mm"]],
                "diameter_mm": float(les["diameter_mm"]),
            }
            for les in lesions
        ],
        "devices": devices,
        "margin_mm": policy.margin_m * 1e3,
        "predicted_covered": found is not None,
        "predicted_margin_mm": float(margin) if math.isfinite(margin) else None,
        "tries": tries,
        "aim_correction_mm": {str(k): round(v * 1e3, 3) + 0.0 for k, v in along.items()},
        "search_grid": {
            "shape": list(world.grid.shape),
            "spacing_mm": world.grid.spacing * 1e3,
        },
        "reason": None if found is not None else _reason(template, amount, policy),
        "note": NOTE,
    }
    if modality == "cryo":
        record.update(probes=int(amount), protocol_s=float(session.duration_s))
    elif modality == "ire":
        record.update(
            electrodes=int(amount),
            pairs=ire_electrodes(template, lesions, int(amount))[1],
            protocol_s=float(session.duration_s),
        )
    else:
        record["duration_s"] = float(amount)
    return session, record


def _recentring(
    zone: np.ndarray, grid: Grid, lesions: list[Mapping[str, Any]], template: SessionTemplate
) -> dict[int, float]:
    """Per lesion label, the shift (m) along the insertion direction that moves the centre of the
    zone near the lesion (within its diameter of the lesion's centre, plus 10 mm) onto the lesion's
    centre; 0 where the zone there is empty. Positive: the devices go deeper."""
    direction = _direction(template)
    axes = [grid.axes_mm()[d] * 1e-3 for d in range(3)]
    idx = np.argwhere(zone)
    if idx.size == 0:
        return {}
    points = np.stack([axes[d][idx[:, d]] for d in range(3)], axis=1)
    out = {}
    for les in lesions:
        centre = np.asarray(les["center_mm"], dtype=float) * 1e-3
        reach = float(les["diameter_mm"]) * 1e-3 + 10e-3
        near = np.linalg.norm(points - centre, axis=1) <= reach
        if near.any():
            out[int(les["label"])] = -float((points[near].mean(axis=0) - centre) @ direction)
    return out


def _reason(template: SessionTemplate, amount: float, policy: AblateVisible) -> str:
    """Why the largest session the limits allow leaves part of the target uncovered."""
    what = f"the lesion + {policy.margin_m * 1e3:g} mm margin on the search grid"
    if template.modality == "ire":
        return (
            f"even {int(amount)} electrodes around each lesion with the template's pulses do not "
            f"ablate {what}"
        )
    if template.modality == "cryo":
        return (
            f"even {int(amount)} probes per lesion (the most the planner tries) with the "
            f"template's protocol do not freeze {what}"
        )
    limit = (
        "the policy's max_duration"
        if policy.max_duration_s is not None and policy.max_duration_s <= amount
        else f"the {template.modality} limit"
    )
    return f"even {amount / 60:g} min ({limit}) at the template's power does not cover {what}"
