"""Every input of a strategy checked before any work starts, and the world it runs on built.

The CLI and :func:`tissuefate.simulate` share :func:`prepare`, so a user error (an unknown preset
or agent, a bad override, an unstable fixed time step, an unknown kernel implementation, a policy
that cannot run) is found in one place, with the file, the key and the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..biology.repair_parameters import RepairParameters, load_repair
from ..errors import ScenarioError
from ..grid.anatomy import Anatomy, CapsuleShell, TumorShape, VesselShape, build_anatomy
from ..grid.grid import Grid
from ..grid.image import (
    ImageGrid,
    Segmentation,
    add_image,
    image_tumors,
    read_segmentation,
    resample_roles,
    resolve_image,
)
from ..grid.shapes import Cylinder, Ellipsoid, Sphere
from ..modalities.agent import Agent, load_agent
from ..modalities.base import SessionContext, ThermalOptions
from ..scenario.io import check_scenario
from ..scenario.models import Scenario
from ..tissue.presets import TissueModel, available_presets, check_electroporation, load_tissue
from ..tissue.state import TissueState
from . import policy as pol

__all__ = [
    "IMPLS",
    "Prepared",
    "build_tissue",
    "check_agents",
    "check_repair",
    "prepare",
    "thermal_options",
]

IMPLS = ("compiled", "numpy")
"""Kernel implementations: numba-compiled, or the NumPy reference."""


def build_tissue(
    scenario: Scenario, source: str | None = None, segmentation: Segmentation | None = None
) -> tuple[Grid, TissueModel, Anatomy]:
    """Grid, resolved tissue presets and anatomy of a scenario.

    A scenario on an image is resolved first (:func:`~tissuefate.grid.image.resolve_image`),
    unless it is already; ``segmentation`` is its image when already read."""
    image = scenario.anatomy.image
    if scenario.image_pending:
        scenario, segmentation = resolve_image(scenario, source, segmentation)
    spec = scenario.grid
    grid = Grid(shape=spec.shape, spacing=spec.spacing_m)
    known = available_presets()
    drawn = scenario.anatomy.tumors
    presets = [("tissue.preset", scenario.tissue.preset)]
    presets += [(f"anatomy.tumors[{i}].preset", t.preset) for i, t in enumerate(drawn)]
    presets += [
        (f"anatomy.tumors[{i}].capsule.preset", t.capsule.preset)
        for i, t in enumerate(drawn)
        if t.capsule is not None
    ]
    if image is not None:
        presets.append(("anatomy.image.tumor_preset", image.tumor_preset))
        presets += [(f"anatomy.image.tumor_presets.{k}", v) for k, v in image.tumor_presets.items()]
        if image.capsule is not None:
            presets.append(("anatomy.image.capsule.preset", image.capsule.preset))
    for key, preset in presets:
        if preset not in known:
            raise ScenarioError(
                f"unknown tissue preset {preset!r}; available: {', '.join(known)}",
                source=source,
                key=key,
            )
    used = [preset for _, preset in presets[1:]]
    tissue = load_tissue(scenario.tissue.preset, used, scenario.tissue.parameters, source=source)
    tumors = []
    for t in scenario.anatomy.tumors:
        shape = (
            Sphere(t.center_m, t.radius_m)
            if t.shape == "sphere"
            else Ellipsoid(t.center_m, t.semi_axes_m)
        )
        capsule = None
        if t.capsule is not None:
            index = tissue.index(t.capsule.preset)
            collagen = tissue.materials[index].collagen_fraction or 0.0
            capsule = CapsuleShell(t.capsule.thickness_m, index, collagen)
        tumors.append(TumorShape(t.name, shape, tissue.index(t.preset), capsule))
    vessels = [
        VesselShape(v.name, Cylinder(v.start_m, v.end_m, v.radius_m), v.flow_m3_s, v.occludes)
        for v in scenario.anatomy.vessels
    ]
    try:
        anatomy = build_anatomy(grid, tumors, vessels)
    except ValueError as exc:
        name = str(exc).split("'")[1] if "'" in str(exc) else ""
        if str(exc).startswith("the capsule of tumor"):
            idx = next((i for i, t in enumerate(scenario.anatomy.tumors) if t.name == name), 0)
            key = f"anatomy.tumors[{idx}].capsule.thickness"
        else:
            idx = next((i for i, v in enumerate(scenario.anatomy.vessels) if v.name == name), 0)
            key = f"anatomy.vessels[{idx}].radius"
        raise ScenarioError(str(exc), source=source, key=key) from exc
    if image is not None:
        anatomy = _with_image(scenario, grid, tissue, anatomy, segmentation, source)
    return grid, tissue, anatomy


def _with_image(
    scenario: Scenario,
    grid: Grid,
    tissue: TissueModel,
    anatomy: Anatomy,
    segmentation: Segmentation | None,
    source: str | None,
) -> Anatomy:
    """``anatomy`` with the tumours, vessels and organ of the scenario's (resolved) image."""
    spec = scenario.anatomy.image
    assert spec is not None
    assert spec.center_m is not None
    seg = segmentation or read_segmentation(spec, source=source)
    where = ImageGrid(grid, np.array(spec.center_m) * 1e3)
    roles = resample_roles(seg, where)
    tumors = image_tumors(roles["tumor"], grid, spec.min_tumor_volume_m3)
    key = "anatomy.image"
    if not tumors.names:
        raise ScenarioError(
            f"no tumour of the image lies in the grid (at least {spec.min_tumor_volume} "
            "each); check grid.size and anatomy.image.center",
            source=source,
            key=f"{key}.center",
        )
    clash = set(tumors.names) & set(anatomy.tumor_names)
    if clash:
        raise ScenarioError(
            f"the image's tumours are named tumor_1, tumor_2, ...; rename the drawn tumour "
            f"{sorted(clash)[0]!r}",
            source=source,
            key="anatomy.tumors",
        )
    for name in spec.tumor_presets:
        if name not in tumors.names:
            raise ScenarioError(
                f"the image has no tumour {name!r}; it has {', '.join(tumors.names)} "
                "(largest first)",
                source=source,
                key=f"{key}.tumor_presets.{name}",
            )
    materials = [tissue.index(spec.tumor_presets.get(n, spec.tumor_preset)) for n in tumors.names]
    capsule = None
    if spec.capsule is not None:
        index = tissue.index(spec.capsule.preset)
        collagen = tissue.materials[index].collagen_fraction or 0.0
        capsule = CapsuleShell(spec.capsule.thickness_m, index, collagen)
    try:
        return add_image(
            anatomy,
            tumors,
            materials,
            roles["vessel"] >= 0.5,
            roles["organ"] >= 0.5 if spec.organ_role is not None else np.ones(grid.shape, bool),
            where.affine,
            seg.volumes[0].path,
            capsule,
        )
    except ValueError as exc:
        which = "capsule.thickness" if "capsule" in str(exc) else "min_tumor_volume"
        raise ScenarioError(str(exc), source=source, key=f"{key}.{which}") from exc


def check_agents(scenario: Scenario, source: str | None = None) -> dict[str, dict[int, Agent]]:
    """Resolve the agent of every injection session (before any work starts).

    Returns ``{strategy: {session index: Agent}}`` for the explicit sessions, and the key
    ``-1`` for a policy's session template; raises :class:`ScenarioError` naming the session's
    ``agent`` or ``agent_parameters`` key for an unknown agent or a bad override.
    """
    out: dict[str, dict[int, Agent]] = {}
    for name, strat in scenario.strategies.items():
        for i, session in enumerate(strat.sessions):
            if session.modality != "injection":
                continue
            key = f"strategies.{name}.sessions[{i}].agent"
            agent = load_agent(session.agent, session.agent_parameters, source=source, key=key)
            out.setdefault(name, {})[i] = agent
        template = pol.template_session(strat)
        if template is not None and template.modality == "injection":
            key = f"strategies.{name}.policy.session.agent"
            agent = load_agent(template.agent, template.agent_parameters, source=source, key=key)
            out.setdefault(name, {})[-1] = agent
    return out


def check_repair(scenario: Scenario, source: str | None = None) -> RepairParameters | None:
    """Resolve the repair parameters (before any work starts); None when repair is off or the
    base tissue has no repair model. Raises :class:`ScenarioError` naming
    ``repair.parameters.NAME`` for a bad override."""
    params = load_repair(scenario.tissue.preset, scenario.repair.parameters, source=source)
    return params if scenario.repair.enabled else None


@dataclass
class Prepared:
    """A scenario's strategy checked and built, ready to run (:func:`prepare`)."""

    scenario: Scenario
    strategy: str
    grid: Grid
    tissue: TissueModel
    anatomy: Anatomy
    agents: dict[int, Agent]
    repair: RepairParameters | None
    impl: str
    source: str | None


def prepare(
    scenario: Scenario,
    strategy: str | None = None,
    *,
    impl: str = "compiled",
    source: str | None = None,
) -> Prepared:
    """Check every input of one strategy before any work starts, and build what it runs on.

    The CLI and :func:`simulate` both call this, so a user error is found in one place.

    Raises
    ------
    ScenarioError
        For the first problem found: the file, the key and the reason.
    """
    if impl not in IMPLS:
        raise ScenarioError(
            f"unknown kernel implementation {impl!r}; use one of: {', '.join(IMPLS)}",
            key="--impl",
        )
    scenario, segmentation = resolve_image(scenario, source)
    check_scenario(scenario, source)
    name, strat = scenario.strategy(strategy)
    grid, tissue, anatomy = build_tissue(scenario, source, segmentation)
    if scenario.anatomy.image is not None and scenario.anatomy.image.organ_role is not None:
        _check_in_organ(scenario, strat, name, grid, anatomy, source)
    agents = check_agents(scenario, source).get(name, {})
    params = check_repair(scenario, source)
    pol.check_policy(scenario, name, strat, source)
    _check_time_step(scenario, strat, grid, tissue, anatomy, impl, source)
    if "ire" in _modalities(strat):
        check_electroporation(tissue, source)
    return Prepared(scenario, name, grid, tissue, anatomy, agents, params, impl, source)


_DEVICES = ("applicators", "electrodes", "probes", "sites", "sources")


def _check_in_organ(
    scenario: Scenario, strat: Any, name: str, grid: Grid, anatomy: Anatomy, source: str | None
) -> None:
    """Every device tip (and heat source centre) of the strategy's sessions lies in the
    segmented organ."""
    assert anatomy.organ is not None
    role = scenario.anatomy.image.organ_role if scenario.anatomy.image else "organ"
    for s, session in enumerate(strat.sessions):
        for field in _DEVICES:
            for j, device in enumerate(getattr(session, field, None) or ()):
                point = device.tip_m if hasattr(device, "tip_m") else device.center_m
                if not anatomy.organ[grid.index_of(point)]:
                    key = "tip" if hasattr(device, "tip_m") else "center"
                    raise ScenarioError(
                        f"lies outside the {role} of the image (the {field[:-1]}'s "
                        f"{'tip' if key == 'tip' else 'centre'} must be in the organ)",
                        source=source,
                        key=f"strategies.{name}.sessions[{s}].{field}[{j}].{key}",
                    )


_THERMAL = ("microwave", "radiofrequency", "cryo", "heat_source", "ire")
_COLDEST_C = -200.0
"""Colder than any cryoprobe: a cryo session's time step must be stable in every window."""


def _modalities(strat: Any) -> set[str]:
    """The modalities a strategy's sessions and its policy's template use."""
    template = pol.template_session(strat)
    modalities = {s.modality for s in strat.sessions}
    if template is not None:
        modalities.add(template.modality)
    return modalities


def _check_time_step(
    scenario: Scenario,
    strat: Any,
    grid: Grid,
    tissue: TissueModel,
    anatomy: Anatomy,
    impl: str,
    source: str | None,
) -> None:
    """A fixed ``thermal.time_step`` must be stable for the strategy's thermal sessions (checked
    on the untreated tissue, before any work starts)."""
    step = scenario.thermal.time_step_s
    if step is None:
        return
    from ..modalities.thermal import stable_time_step  # the thermal solver, only when asked

    for modality in sorted(m for m in _modalities(strat) if m in _THERMAL):
        ctx = SessionContext(
            grid, anatomy, tissue, TissueState.initial(anatomy), thermal_options(scenario), impl
        )
        cryo = modality == "cryo"
        limit = stable_time_step(ctx, freezing=cryo, coldest=_COLDEST_C if cryo else None)
        if step > limit * (1 + 1e-9):
            raise ScenarioError(
                f"{step:g} s exceeds the stability limit {limit:.3g} s of the {modality} session "
                f"on this grid and tissue; use at most {limit:.3g} s, or leave it unset (the "
                "solver then takes thermal.time_step_safety x the limit)",
                source=source,
                key="thermal.time_step",
            )


def thermal_options(scenario: Scenario) -> ThermalOptions:
    th = scenario.thermal
    return ThermalOptions(
        initial_temperature=th.initial_temperature_c,
        boundary=th.boundary,
        boundary_temperature=th.boundary_temperature_c,
        dtype=th.dtype,
        time_step_safety=th.time_step_safety,
        time_step=th.time_step_s,
        update_interval=th.update_interval_s,
        record_interval=th.record_interval_s,
        perfusion_shutdown=th.perfusion_shutdown,
        local_time_step=th.local_time_step,
    )
