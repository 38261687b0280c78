"""Reading, writing and checking scenario files.

Every failure, from a missing file to a tumor that sticks out of the grid, raises
:class:`~tissuefate.errors.ScenarioError` naming the file (``source``), the dotted key path with
list indices (``key``, e.g. ``strategies.mwa.sessions[0].power``) and one line of reason.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tissuefate.errors import ScenarioError
from tissuefate.scenario._base import _mm
from tissuefate.scenario.devices import _segment_distance
from tissuefate.scenario.models import (
    CryoProbe,
    InjectionSite,
    IreElectrode,
    KeyedValueError,
    RadiofrequencyElectrode,
    Scenario,
    Vessel,
)

__all__ = ["check_scenario", "dump_scenario", "load_scenario", "loads_scenario"]

#: Rough memory a simulation needs per voxel: state, fields, coefficients and work arrays.
BYTES_PER_VOXEL = 160
#: Share of the physical memory a single run may plan to use.
MEMORY_FRACTION = 0.8
_FALLBACK_MEMORY_BYTES = 8 * 1024**3
_GIB = 1024**3

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it (several times faster), else the pure-Python one.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML safe loader that rejects duplicate keys instead of keeping the last one."""


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping in the YAML text has the same key twice."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "found a list or mapping used as a key", key_node.start_mark
            )
        if key in mapping:
            raise _DuplicateKeyError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read, validate and check the scenario file at ``path``.

    Raises
    ------
    ScenarioError
        With ``source`` set to ``path`` as given, for any problem with the file or its content.
    """
    source = os.fspath(path)
    if not os.path.exists(source):
        raise ScenarioError("no such file", source=source)
    if os.path.isdir(source):
        raise ScenarioError("is a directory, not a scenario file", source=source)
    try:
        with open(source, "rb") as stream:
            raw = stream.read()
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not a UTF-8 text file (byte {raw[exc.start]:#04x} at offset {exc.start})",
            source=source,
        ) from None
    return _anchored(loads_scenario(text, source=source), Path(source).resolve().parent)


def _anchored(scenario: Scenario, folder: Path) -> Scenario:
    """``scenario`` with the relative paths of its image made absolute from ``folder`` (the
    scenario file's), so that it runs from any working folder."""
    image = scenario.anatomy.image
    if image is None:
        return scenario
    anatomy = scenario.anatomy.model_copy(update={"image": image.anchored(folder)})
    return scenario.model_copy(update={"anatomy": anatomy})


def loads_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate and check a scenario given as YAML text; ``source`` names it in errors."""
    data = _parse_yaml(text, source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, data, source) from None
    check_scenario(scenario, source=source)
    return scenario


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader subclass
    except yaml.YAMLError as exc:
        raise ScenarioError(_yaml_reason(exc), source=source) from None
    if data is None:
        raise ScenarioError("the file is empty", source=source)
    if not isinstance(data, dict):
        raise ScenarioError(
            f"the top level must be a mapping of keys (name:, grid:, ...), got {_kind(data)}",
            source=source,
        )
    return data


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    if isinstance(exc, _DuplicateKeyError):
        return f"{problem}{where} (each key may appear once)"
    detail = f"{problem} ({context})" if context else problem
    return f"malformed YAML{where}: {detail}"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


# --------------------------------------------------------------------------------------------
# Validation errors -> ScenarioError
# --------------------------------------------------------------------------------------------


#: The keys that pick the model of a discriminated union, and what they name in messages.
_DISCRIMINATORS = {"modality": "modality", "kind": "policy kind"}


def _key_path(loc: Sequence[str | int], data: Any) -> str | None:
    """The dotted key path of a pydantic error location, walking the input alongside.

    Pydantic puts the tag of a discriminated union (a session's modality, a policy's kind) into
    the location; it is not a key of the file, so it is dropped here.
    """
    parts: list[str | int] = []
    node = data
    for part in loc:
        if part == "[key]":
            continue
        if (
            isinstance(node, dict)
            and part not in node
            and isinstance(part, str)
            and any(node.get(tag) == part for tag in _DISCRIMINATORS)
        ):
            continue
        parts.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return _format_path(parts)


def _format_path(parts: Sequence[str | int]) -> str | None:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) or "''"
            text += f".{name}" if text else name
    return text or None


def _shown(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_MESSAGES = {
    "missing": "missing required key",
    "string_too_short": "must not be empty",
    "string_type": "expected text, got {input}",
    "int_type": "expected a whole number, got {input}",
    "int_parsing": "expected a whole number, got {input}",
    "int_from_float": "expected a whole number, got {input}",
    "float_type": "expected a number, got {input}",
    "float_parsing": "expected a number, got {input}",
    "finite_number": "expected a finite number, got {input}",
    "bool_type": "expected true or false, got {input}",
    "bool_parsing": "expected true or false, got {input}",
    "dict_type": "expected a mapping of keys, got {input}",
    "model_type": "expected a mapping of keys, got {input}",
    "model_attributes_type": "expected a mapping of keys, got {input}",
    "list_type": "expected a list, got {input}",
    "tuple_type": "expected a list, got {input}",
    "too_short": "needs at least {min_length} entr{plural}",
    "too_long": "takes at most {max_length} entries",
    "greater_than": "must be greater than {gt}, got {input}",
    "greater_than_equal": "must be at least {ge}, got {input}",
    "less_than": "must be less than {lt}, got {input}",
    "less_than_equal": "must be at most {le}, got {input}",
    "literal_error": "expected {expected}, got {input}",
    "extra_forbidden": "unknown key",
}


def _first_error(exc: ValidationError, data: Any, source: str | None) -> ScenarioError:
    """The first error of a pydantic ValidationError as a one-line ScenarioError."""
    error = exc.errors(include_url=False)[0]
    loc: list[str | int] = list(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    cause = ctx.get("error")
    if isinstance(cause, KeyedValueError):
        loc.extend(cause.subkey)
    key = _key_path(loc, data)

    if kind in ("value_error", "assertion_error") and cause is not None:
        reason = str(cause)
    elif kind == "union_tag_invalid":
        tag = str(ctx.get("discriminator", "modality")).strip("'")
        key = _join(key, tag)
        known = _tags(ctx["expected_tags"])
        item = error.get("input")
        given = item.get(tag) if isinstance(item, dict) else None
        what = _DISCRIMINATORS.get(tag, tag)
        if isinstance(given, str):
            reason = f"unknown {what} {given!r}; known: {known}"
        else:
            reason = f"expected a {what} name ({known}), got {_shown(given)}"
    elif kind == "union_tag_not_found":
        key = _join(key, str(ctx.get("discriminator", "modality")).strip("'"))
        reason = "missing required key"
    elif kind in _MESSAGES:
        fields = {**ctx, "input": _shown(error.get("input"))}
        fields["plural"] = "y" if fields.get("min_length") == 1 else "ies"
        reason = _MESSAGES[kind].format(**fields)
    else:
        reason = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        reason = reason.removeprefix(prefix)
    return ScenarioError(reason, source=source, key=key)


def _join(key: str | None, name: str) -> str:
    return f"{key}.{name}" if key else name


def _tags(expected: str) -> str:
    return ", ".join(sorted(tag.strip().strip("'") for tag in expected.split(",")))


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


class _Dumper(_SafeDumper):  # type: ignore[misc,valid-type]
    """YAML dumper writing flat lists (vectors, snapshot times) on one line."""


def _represent_list(dumper: _Dumper, value: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)


_Dumper.add_representer(list, _represent_list)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML with every default filled in; :func:`loads_scenario` reads it back
    to an equal scenario."""
    data = scenario.model_dump(mode="json")
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


# --------------------------------------------------------------------------------------------
# Semantic checks
# --------------------------------------------------------------------------------------------


def _physical_memory_bytes() -> int:
    """Physical memory of this machine in bytes (8 GiB when the OS does not say)."""
    try:
        pages = os.sysconf("SC_PHYS_PAGES")
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_MEMORY_BYTES
    if pages <= 0 or page_size <= 0:
        return _FALLBACK_MEMORY_BYTES
    return int(pages) * int(page_size)


def _reach_error(
    what: str,
    center: Sequence[float],
    extent: Sequence[float],
    half: Sequence[float],
    *,
    size_key: str,
    centre_is: str = "has its centre",
) -> tuple[str, str] | None:
    """Where an object of half-extents ``extent`` (m) at ``center`` (m) leaves the grid.

    Returns None when it fits, else ``(key, reason)`` where ``key`` is ``"center"`` when the centre
    itself is outside the grid and ``size_key`` when only the object's size takes it out.
    """
    for axis, c, e, h in zip("xyz", center, extent, half, strict=True):
        tolerance = 1e-9 * h
        if abs(c) > h + tolerance:
            return "center", (
                f"{what} {centre_is} {_mm(abs(c))} from the grid centre along {axis} "
                f"but the grid ends at {_mm(h)}"
            )
        if abs(c) + e > h + tolerance:
            return size_key, (
                f"{what} reaches {_mm(abs(c) + e)} from the centre along {axis} "
                f"but the grid ends at {_mm(h)}"
            )
    return None


def _active_end(tip: Sequence[float], direction: Sequence[float], length: float) -> list[float]:
    """The end of an active part that runs ``length`` (m) back from ``tip`` along the shaft."""
    return [p - length * d for p, d in zip(tip, direction, strict=True)]


def _reach_radius_m(item: RadiofrequencyElectrode | CryoProbe | IreElectrode) -> float:
    """Radius (m) of the cylinder around the axis that holds the active part: the needle itself,
    the three needles of a cluster, or the spread of deployed tines."""
    radius = item.diameter_m / 2
    if isinstance(item, RadiofrequencyElectrode):
        if item.spacing_m is not None:
            return item.spacing_m + radius
        if item.deployed_diameter_m is not None:
            return max(item.deployed_diameter_m / 2, radius)
    return radius


def _check_needles(
    items: Sequence[RadiofrequencyElectrode | CryoProbe | IreElectrode],
    what: str,
    key: str,
    half: Sequence[float],
    limit: Sequence[float],
    vessels: Sequence[Vessel],
    source: str | None,
) -> None:
    """Electrodes or cryoprobes: tip in the grid, far end of the active part (the exposure of an
    electroporation electrode) at most half a voxel beyond it, and the active part clear of every
    vessel."""
    for j, item in enumerate(items):
        tip = item.tip_m
        problem = _reach_error(
            f"the {what} tip", tip, (0.0, 0.0, 0.0), half, size_key="tip", centre_is="is"
        )
        if problem is not None:
            raise ScenarioError(problem[1], source=source, key=f"{key}[{j}].tip")
        end: Sequence[float]
        if isinstance(item, IreElectrode):
            end, length_key = item.segment_m[0], "exposure"
        else:
            end = _active_end(tip, item.direction, item.active_length_m)
            length_key = "active_length"
        beyond = _beyond(end, half, limit)
        if beyond is not None:
            raise ScenarioError(
                f"the active part of {what} {j} ends {beyond}",
                source=source,
                key=f"{key}[{j}].{length_key}",
            )
        radius = _reach_radius_m(item)
        for vessel in vessels:
            gap = _segment_distance(tip, end, vessel.start_m, vessel.end_m)
            clearance = vessel.radius_m + radius
            if gap < clearance:
                raise ScenarioError(
                    f"{what} {j} overlaps vessel {vessel.name}: its active part comes within "
                    f"{_mm(round(gap, 9))} of the vessel axis, closer than the vessel radius "
                    f"plus the {what} radius ({_mm(clearance)})",
                    source=source,
                    key=f"{key}[{j}]",
                )


def _check_injection_sites(
    sites: Sequence[InjectionSite],
    key: str,
    half: Sequence[float],
    vessels: Sequence[Vessel],
    source: str | None,
) -> None:
    """Injection sites: each needle tip inside the grid and outside every large vessel (an
    agent injected into a vessel is washed away, not deposited in the tissue)."""
    for j, site in enumerate(sites):
        tip = site.tip_m
        problem = _reach_error(
            f"the needle tip of site {j}",
            tip,
            (0.0, 0.0, 0.0),
            half,
            size_key="tip",
            centre_is="is",
        )
        if problem is not None:
            raise ScenarioError(problem[1], source=source, key=f"{key}[{j}].tip")
        for vessel in vessels:
            gap = _segment_distance(tip, tip, vessel.start_m, vessel.end_m)
            if gap < vessel.radius_m:
                raise ScenarioError(
                    f"the needle tip of site {j} lies inside vessel {vessel.name} "
                    f"({_mm(round(gap, 9))} from its axis, radius {_mm(vessel.radius_m)})",
                    source=source,
                    key=f"{key}[{j}].tip",
                )


def _beyond(point: Iterable[float], half: Iterable[float], limit: Iterable[float]) -> str | None:
    """Why ``point`` (m) lies more than half a voxel beyond the grid (``limit`` per axis), or
    None; the text continues "... has its end " or "... ends "."""
    for axis, p, h, most in zip("xyz", point, half, limit, strict=True):
        if abs(p) > most * (1 + 1e-9):
            return (
                f"{_mm(abs(p))} from the centre along {axis} but the grid ends at {_mm(h)} "
                "(at most half a voxel beyond is allowed)"
            )
    return None


def check_scenario(scenario: Scenario, source: str | None = None) -> None:
    """Checks that need the grid: the grid fits in memory, and every tumor, applicator, electrode
    (radiofrequency or electroporation) and probe tip, injection needle tip and heat source lies
    inside it; vessel ends and the far ends of the active parts of electrodes and probes may lie up
    to half a voxel beyond its faces.
    The active part of an electrode or probe must not overlap a vessel, and an injection needle
    tip must not lie inside one. A policy's session template, filled with its stand-in values at the
    first tumor's centre, must have its tips inside the grid too.

    A scenario whose grid is the crop of an image, not yet read, has no size: these checks run
    once the image has been read (:func:`tissuefate.grid.image.resolve_image`, called by
    ``prepare`` before any work starts).

    Raises
    ------
    ScenarioError
        The first problem found, with the key path of the offending value.
    """
    grid = scenario.grid
    if scenario.image_pending:
        return
    voxels = grid.n_voxels
    needed = voxels * BYTES_PER_VOXEL
    available = MEMORY_FRACTION * _physical_memory_bytes()
    if needed > available:
        raise ScenarioError(
            f"the grid has {voxels:,} voxels, which needs about {needed / _GIB:.1f} GiB "
            f"({BYTES_PER_VOXEL} bytes per voxel) but only {available / _GIB:.1f} GiB "
            f"({MEMORY_FRACTION:.0%} of this machine's memory) can be used; "
            "use a smaller grid or a coarser spacing",
            source=source,
            key="grid",
        )
    half = grid.half_size_m

    for i, tumor in enumerate(scenario.anatomy.tumors):
        size_key = "semi_axes" if tumor.semi_axes is not None else "radius"
        problem = _reach_error(
            f"tumor {tumor.name}", tumor.center_m, tumor.semi_axes_m, half, size_key=size_key
        )
        if problem is not None:
            raise ScenarioError(problem[1], source=source, key=f"anatomy.tumors[{i}].{problem[0]}")

    limit = tuple(h + grid.spacing_m / 2 for h in half)
    vessels = scenario.anatomy.vessels
    for i, vessel in enumerate(vessels):
        for end_key, point in (("start", vessel.start_m), ("end", vessel.end_m)):
            beyond = _beyond(point, half, limit)
            if beyond is not None:
                raise ScenarioError(
                    f"vessel {vessel.name} has its {end_key} {beyond}",
                    source=source,
                    key=f"anatomy.vessels[{i}].{end_key}",
                )

    for name, strategy in scenario.strategies.items():
        for s, session in enumerate(strategy.sessions):
            prefix = f"strategies.{name}.sessions[{s}]"
            if session.modality == "microwave":
                for j, applicator in enumerate(session.applicators):
                    problem = _reach_error(
                        "the applicator tip",
                        applicator.tip_m,
                        (0.0, 0.0, 0.0),
                        half,
                        size_key="tip",
                        centre_is="is",
                    )
                    if problem is not None:
                        raise ScenarioError(
                            problem[1],
                            source=source,
                            key=f"{prefix}.applicators[{j}].tip",
                        )
            elif session.modality in ("radiofrequency", "ire"):
                _check_needles(
                    session.electrodes,
                    "electrode",
                    f"{prefix}.electrodes",
                    half,
                    limit,
                    vessels,
                    source,
                )
            elif session.modality == "cryo":
                _check_needles(
                    session.probes, "cryoprobe", f"{prefix}.probes", half, limit, vessels, source
                )
            elif session.modality == "injection":
                _check_injection_sites(session.sites, f"{prefix}.sites", half, vessels, source)
            else:
                for j, heat in enumerate(session.sources):
                    r = heat.radius_m or 0.0
                    problem = _reach_error(
                        f"heat source {j}", heat.center_m, (r, r, r), half, size_key="radius"
                    )
                    if problem is not None:
                        raise ScenarioError(
                            problem[1], source=source, key=f"{prefix}.sources[{j}].{problem[0]}"
                        )

    tumors = scenario.anatomy.tumors
    centre_mm = tuple(c * 1e3 for c in tumors[0].center_m) if tumors else (0.0, 0.0, 0.0)
    for name, strategy in scenario.strategies.items():
        if strategy.policy is not None:
            template = strategy.policy.session
            _check_template_tips(
                template.example(centre_mm),  # type: ignore[arg-type]
                template.device_key or "sites",
                f"strategies.{name}.policy.session",
                half,
                source,
            )


def _check_template_tips(
    session: Any, devices: str, prefix: str, half: Sequence[float], source: str | None
) -> None:
    """A policy's session template, filled with its stand-in values at the first tumour's centre:
    every tip lies in the grid. Only the tips a template writes can fail; the other checks of a
    session (active parts, vessels) depend on where the planner puts the devices."""
    for j, item in enumerate(getattr(session, devices)):
        problem = _reach_error(
            f"the tip of {devices}[{j}]",
            item.tip_m,
            (0.0, 0.0, 0.0),
            half,
            size_key="tip",
            centre_is="is",
        )
        if problem is not None:
            raise ScenarioError(problem[1], source=source, key=f"{prefix}.{devices}[{j}].tip")
