"""Study files: a base scenario, the uncertain parameters with their distributions, the strategies
to compare, the outputs of interest and the design.

A study is YAML, validated like a scenario (unknown keys are errors, every error names the file,
the key and the reason)::

    name: smoke
    seed: 7
    base: course_demo.yaml            # a path (relative to the study file) or an inline scenario
    strategies: [mwa, clo2_essay]     # default: every strategy of the base
    parameters:                       # scenario key path -> distribution, in units
      tissue.parameters.perfusion_rate: {distribution: log_uniform, low: 0.003 1/s, high: 0.012 1/s}
      repair.parameters.coagulated_clearance_rate:
        {distribution: uniform, low: 0.02 1/d, high: 0.2 1/d}
    outputs: [outcome.visible_tumor_ml, outcome.scar_ml, outcome.tumor_free]
    design: {method: sobol, samples: 64}

A parameter's key path is where its value goes in the base scenario's YAML: a mapping key
(``tissue.parameters.perfusion_rate``) or a list item (``strategies.mwa.sessions[0].power``). Its
distribution's numbers carry units; each sampled value is written back in the units of ``low``
(or ``mean``; ``sd`` is a difference of them), and the scenario then checks the dimension as it
checks any value.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AllowInfNan,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ScenarioError
from ..scenario._base import KeyedValueError, _Model
from ..scenario.quantities import format_quantity, ureg

__all__ = [
    "DISTRIBUTIONS",
    "METHODS",
    "Design",
    "Distribution",
    "Fit",
    "Observation",
    "Study",
    "dump_base",
    "event",
    "get_key",
    "key_steps",
    "load_study",
    "loads_study",
    "set_key",
]

DISTRIBUTIONS = ("uniform", "log_uniform", "normal", "truncated_normal", "triangular")
"""Distributions a parameter may have (see :class:`Distribution`)."""

METHODS = ("latin_hypercube", "sobol", "morris")
"""Designs: Latin hypercube (``samples`` points), Sobol'/Saltelli (``samples`` x (d + 2)
points, first-order and total indices) and Morris (``samples`` trajectories of d + 1 points)."""

_PATH = re.compile(r"[A-Za-z_][\w-]*(\[\d+\])*(\.[A-Za-z_][\w-]*(\[\d+\])*)*")
_PART = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]")
_EVENT = re.compile(
    r"(?P<key>\S+?)\s*(?P<op><=|>=|<|>)\s*(?P<value>[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)"
)
_OPS = {"<=": float.__le__, ">=": float.__ge__, "<": float.__lt__, ">": float.__gt__}


def event(output: str) -> tuple[str, Any, float] | None:
    """``(key, comparison, threshold)`` of an output written as an event on a summary value,
    e.g. ``outcome.days_to_no_visible_tumor <= 30``; None for a plain summary key."""
    m = _EVENT.fullmatch(output.strip())
    if m is None:
        return None
    return m["key"], _OPS[m["op"]], float(m["value"])


class Distribution(_Model):
    """An uncertain parameter's distribution, its numbers with units (one dimension for all).

    - ``uniform``: ``low``, ``high``;
    - ``log_uniform``: ``low``, ``high`` (both positive; uniform in the logarithm);
    - ``normal``: ``mean``, ``sd``;
    - ``truncated_normal``: ``mean``, ``sd``, ``low``, ``high``;
    - ``triangular``: ``low``, ``mode``, ``high``.
    """

    distribution: Literal["uniform", "log_uniform", "normal", "truncated_normal", "triangular"]
    low: str | float | None = None
    high: str | float | None = None
    mean: str | float | None = None
    sd: str | float | None = None
    mode: str | float | None = None

    @model_validator(mode="after")
    def _check(self) -> Distribution:
        need = {
            "uniform": ("low", "high"),
            "log_uniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "truncated_normal": ("mean", "sd", "low", "high"),
            "triangular": ("low", "mode", "high"),
        }[self.distribution]
        given = [k for k in ("low", "high", "mean", "sd", "mode") if getattr(self, k) is not None]
        missing = [k for k in need if k not in given]
        if missing:
            raise KeyedValueError(f"a {self.distribution} distribution needs it", missing[0])
        extra = [k for k in given if k not in need]
        if extra:
            raise KeyedValueError(
                f"a {self.distribution} distribution takes only {', '.join(need)}", extra[0]
            )
        values = self._magnitudes(need)
        low, high = values.get("low"), values.get("high")
        if low is not None and high is not None and not low < high:
            raise KeyedValueError("must be greater than low", "high")
        if self.distribution == "log_uniform" and low is not None and low <= 0:
            raise KeyedValueError("must be positive for a log-uniform distribution", "low")
        if "sd" in values and values["sd"] <= 0:
            raise KeyedValueError("must be positive", "sd")
        if "mode" in values and not low <= values["mode"] <= high:
            raise KeyedValueError("must lie between low and high", "mode")
        return self

    def _magnitudes(self, keys: tuple[str, ...]) -> dict[str, float]:
        """The magnitudes of ``keys`` in :attr:`unit` (``sd`` as a difference of it)."""
        unit = self.unit
        values = {}
        for key in keys:
            q = _quantity(getattr(self, key), key)
            target = unit
            if key == "sd" and unit is not None:  # a spread: a temperature difference, not a
                target = (ureg.Quantity(1.0, unit) - ureg.Quantity(0.0, unit)).units  # °C
            try:
                values[key] = float(q.to(target).magnitude) if target else float(q.magnitude)
                if target is None and not q.dimensionless:
                    raise ValueError
            except Exception:  # pint's DimensionalityError and offset-unit errors
                first = "low" if self.low is not None else "mean"
                shown = f"{unit:~}" if unit is not None else "a plain number"
                raise KeyedValueError(
                    f"{getattr(self, key)!r} is not in the units of {first} ({shown})", key
                ) from None
            if not math.isfinite(values[key]):
                raise KeyedValueError("must be a finite number", key)
        return values

    @property
    def unit(self) -> Any:
        """The pint unit every sampled value is written in, that of ``low`` (or ``mean``); None
        for a plain number."""
        first = self.low if self.low is not None else self.mean
        q = _quantity(first, "low" if self.low is not None else "mean")
        return None if q.unitless else q.units

    def value(self, key: str) -> float:
        """The magnitude of ``key`` (``low``, ``high``, ``mean``, ``sd``, ``mode``) in
        :attr:`unit`."""
        return self._magnitudes((key,))[key]

    def format(self, magnitude: float) -> str | float:
        """A sampled value as the scenario reads it: a number with :attr:`unit`, or a number."""
        if self.unit is None:
            return float(magnitude)
        return format_quantity(ureg.Quantity(float(magnitude), self.unit))


class Design(_Model):
    """How the parameter space is sampled."""

    method: Literal["latin_hypercube", "sobol", "morris"] = "latin_hypercube"
    samples: Annotated[int, Strict(), Field(gt=0)]
    levels: Annotated[int, Strict(), Field(ge=2)] = 4
    """Grid levels of a Morris design."""

    @model_validator(mode="after")
    def _power_of_two(self) -> Design:
        n = self.samples
        if self.method == "sobol" and n & (n - 1):
            raise KeyedValueError(
                f"a Sobol' design needs a power of two (Saltelli's scheme), e.g. "
                f"{1 << (n.bit_length() - 1)} or {1 << n.bit_length()}, got {n}",
                "samples",
            )
        return self


class Observation(_Model):
    """A measured value of one store column (``STRATEGY/OUTPUT``, in the summary's units: mL,
    mm, days) and the scale ``sd`` of its error (same units), for fitting."""

    output: Annotated[str, Field(min_length=1)]
    value: Annotated[float, AllowInfNan(False)]
    sd: Annotated[float, Field(gt=0), AllowInfNan(False)]


class Fit(_Model):
    """Fitting to observed cases by rejection ABC: the ``accept`` fraction of samples closest to
    the ``observations`` (root mean square of the errors in units of ``sd``) is the posterior."""

    accept: Annotated[float, Field(gt=0, le=1)] = 0.1
    observations: Annotated[list[Observation], Field(min_length=1)]


class Study(_Model):
    """A parameter study on a base scenario (see the module docstring)."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    description: str = ""
    seed: Annotated[int, Strict(), Field(ge=0)] = 0
    base: str | dict[str, Any]
    strategies: list[str] | None = None
    parameters: dict[str, Distribution]
    outputs: Annotated[list[str], Field(min_length=1)]
    design: Design
    fit: Fit | None = None

    @model_validator(mode="after")
    def _fit_design(self) -> Study:
        if self.fit is not None and self.design.method == "morris":
            raise KeyedValueError(
                "fitting needs a random design (latin_hypercube or sobol); Morris trajectories "
                "are not a sample of the prior",
                "fit",
            )
        return self

    @field_validator("parameters")
    @classmethod
    def _paths(cls, parameters: dict[str, Distribution]) -> dict[str, Distribution]:
        if not parameters:
            raise ValueError("at least one uncertain parameter is needed")
        for path in parameters:
            if not _PATH.fullmatch(path):
                raise KeyedValueError(
                    "not a scenario key path (e.g. tissue.parameters.perfusion_rate or "
                    "strategies.mwa.sessions[0].power)",
                    path,
                )
        return parameters

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, outputs: list[str]) -> list[str]:
        for i, key in enumerate(outputs):
            found = event(key)
            if not _PATH.fullmatch(found[0] if found else key):
                raise KeyedValueError(
                    "not a summary key (e.g. outcome.scar_ml or sessions[0].tumor_kill_fraction) "
                    "or an event on one (e.g. outcome.days_to_no_visible_tumor <= 30)",
                    i,
                )
        if len(set(outputs)) != len(outputs):
            raise ValueError("an output is listed twice")
        return outputs


def _quantity(value: str | float | None, key: str) -> Any:
    if isinstance(value, bool) or value is None:
        raise KeyedValueError("expected a number with units, e.g. '0.5 mL'", key)
    try:
        return ureg.Quantity(value) if isinstance(value, str) else ureg.Quantity(float(value))
    except Exception:  # pint raises several kinds for text it cannot read
        raise KeyedValueError(f"cannot read {value!r} as a number with units", key) from None


def load_study(path: str | os.PathLike[str]) -> tuple[Study, dict[str, Any]]:
    """Read and validate the study file at ``path``; returns it with its base scenario's YAML
    mapping (read from ``base``, relative to the study file, or inline)."""
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError("no such file", source=source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read the file: {exc}", source=source) from None
    return loads_study(text, source=source, folder=Path(source).parent)


def loads_study(
    text: str, source: str = "<string>", folder: Path | None = None
) -> tuple[Study, dict[str, Any]]:
    """Validate a study given as YAML text (see :func:`load_study`)."""
    from ..scenario.io import _first_error, _parse_yaml

    data = _parse_yaml(text, source)
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc, data, source) from None
    if isinstance(study.base, dict):
        base = dict(study.base)
    else:
        where = (folder or Path.cwd()) / study.base
        try:
            base = _parse_yaml(where.read_text(encoding="utf-8-sig"), str(where))
        except FileNotFoundError:
            raise ScenarioError(
                f"no such base scenario {str(where)!r}", source=source, key="base"
            ) from None
    strategies = base.get("strategies")
    if not isinstance(strategies, dict):
        raise ScenarioError("the base scenario has no strategies", source=source, key="base")
    for i, name in enumerate(study.strategies or []):
        if name not in strategies:
            raise ScenarioError(
                f"no strategy {name!r} in the base scenario; it has: {', '.join(strategies)}",
                source=source,
                key=f"strategies[{i}]",
            )
    for path in study.parameters:
        try:
            set_key(base, path, None, dry=True)
        except KeyError as exc:
            raise ScenarioError(str(exc.args[0]), source=source, key=f"parameters.{path}") from None
    return study, base


def key_steps(path: str) -> list[str | int]:
    """The steps of a key path: mapping keys as strings, list indices as integers."""
    return [name if name else int(index) for name, index in _PART.findall(path)]


def get_key(data: Any, path: str, missing: Any = None) -> Any:
    """The value at key path ``path`` of a mapping (a scenario's YAML, a summary), or ``missing``
    where there is none."""
    node = data
    for step in key_steps(path):
        if isinstance(step, str):
            there = isinstance(node, Mapping) and step in node
        else:
            there = isinstance(node, list) and step < len(node)
        if not there:
            return missing
        node = node[step]
    return node


def set_key(data: dict[str, Any], path: str, value: Any, *, dry: bool = False) -> None:
    """Set ``value`` at key path ``path`` in a scenario's YAML mapping, in place.

    Missing mapping keys on the way are created (an override such as
    ``tissue.parameters.perfusion_rate`` in a base that has none yet; the scenario's own checks
    then reject a key it does not know); a list index must exist. ``dry`` checks the path
    without changing anything.

    Raises
    ------
    KeyError
        With a one-line reason naming the step that cannot be taken.
    """
    parts = key_steps(path)
    node: Any = data
    walked = ""
    for n, key in enumerate(parts):
        last = n == len(parts) - 1
        if isinstance(key, str):
            if not isinstance(node, dict):
                raise KeyError(
                    f"{walked.rstrip('.')!r} is a value, not a mapping, so it has no {key!r} "
                    "(write it in its long form, e.g. tissue: {preset: liver})"
                )
            if last:
                if not dry:
                    node[key] = value
                return
            if key not in node:
                if dry:
                    return
                node[key] = {}
            node = node[key]
            walked += key + "."
        else:
            i = key
            if not isinstance(node, list) or i >= len(node):
                raise KeyError(f"the base scenario has no item [{i}] at {walked.rstrip('.')!r}")
            if last:
                if not dry:
                    node[i] = value
                return
            node = node[i]
            walked = walked.rstrip(".") + f"[{i}]."


def dump_base(base: dict[str, Any]) -> str:
    """A base scenario's YAML mapping as text."""
    return yaml.safe_dump(base, sort_keys=False, allow_unicode=True)
