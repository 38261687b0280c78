"""The ``tissue:`` entry of a validation scenario written as YAML text."""

from __future__ import annotations

import json
from collections.abc import Mapping

__all__ = ["tissue_entry"]


def tissue_entry(preset: str, parameters: Mapping[str, str] | None = None) -> str:
    """``preset``, or ``{preset: ..., parameters: {...}}`` where ``parameters`` (name -> value
    with units) override the preset's (YAML flow style; JSON is valid YAML)."""
    if not parameters:
        return preset
    return f"{{preset: {preset}, parameters: {json.dumps(dict(parameters))}}}"
