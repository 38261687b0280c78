"""3-D views of a run: tumour, ablation zone, vessels and organ after each session, and what is
left at the last snapshot (:func:`scene_views`), drawn by
:func:`~tissuefate.report.render3d.render_layers`.

Drawn when ``outputs.views_3d`` asks (by default, for runs whose anatomy came from a segmented
image); the coordinates are then the image's scanner coordinates (RAS+, mm), else the grid's.
Surfaces come from the fields stored in ``fields.zarr`` by
:func:`tissuefate.grid.surface.surface`: a region is the voxels holding at least half of it
(tumour, collagen, dead tissue), the ablation zone is damage Ω ≥ 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

from ..grid.grid import Grid
from ..grid.surface import Surface, surface
from .render3d import Layer, Rendered, render_layers

__all__ = [
    "HALF",
    "SceneView",
    "fields_affine",
    "fields_grid",
    "has_scene",
    "in_frame",
    "regions",
    "scene_views",
]

#: A voxel belongs to a region (viable tumour, scar, dead tissue) when at least half of it is.
HALF = 0.5
_COLORS = {
    "tumour": "#c0392b",
    "ablation zone": "#f39c12",
    "dead tissue": "#f39c12",
    "scar": "#6c3483",
    "vessels": "#2471a3",
    "organ": "#a0522d",
}
_OPACITY = {"tumour": 0.8, "ablation zone": 0.35, "dead tissue": 0.35, "scar": 0.7, "organ": 0.12}


@dataclass(frozen=True)
class SceneView:
    """A written 3-D view: its file name and how it was drawn."""

    name: str
    rendered: Rendered


def fields_affine(ds: xr.Dataset) -> np.ndarray:
    """Voxel index → mm (4 × 4) of an output's fields: ``attrs["affine_mm"]``, or for an output
    written before it existed, from the x, y, z coordinates (the grid's own frame)."""
    if "affine_mm" in ds.attrs:
        return np.asarray(ds.attrs["affine_mm"], float)
    x, y, z = (np.asarray(ds[c].values, float) for c in ("x", "y", "z"))
    h = float(x[1] - x[0]) if x.size > 1 else 1.0
    affine = np.diag([h, h, h, 1.0])
    affine[:3, 3] = (x[0], y[0], z[0])
    return affine


def fields_grid(ds: xr.Dataset) -> Grid:
    """The grid of an output's fields, in the frame of :func:`fields_affine` (m)."""
    affine = fields_affine(ds)
    h = float(affine[0, 0]) * 1e-3
    shape = (ds.sizes["x"], ds.sizes["y"], ds.sizes["z"])
    origin = tuple(float(o) * 1e-3 - 0.5 * h for o in affine[:3, 3])
    return Grid(shape=shape, spacing=h, origin=origin)  # type: ignore[arg-type]


def in_frame(mesh: Surface, grid: Grid, affine: np.ndarray, scale: float = 1.0) -> Surface:
    """``mesh`` (vertices in m, in ``grid``'s frame) in the frame of ``affine`` (voxel index →
    mm), times ``scale`` (1: mm; 1e-3: m)."""
    to_index = np.eye(4)
    to_index[:3, :3] /= grid.spacing
    to_index[:3, 3] = -np.asarray(grid.origin) / grid.spacing - 0.5
    scaled = np.diag([scale, scale, scale, 1.0])
    return mesh.transformed(scaled @ affine @ to_index)


def regions(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """The regions an output's surfaces outline (the export's meshes and the 3-D views), by
    name: ``tumor_initial`` (partial volume,
    level 1/2), ``tumor_final`` (viable tumour ≥ 1/2 at the last snapshot), ``ablation_zone_N``
    per session, ``scar_final`` (collagen ≥ 1/2 at the last snapshot), ``vessels`` and ``organ``
    (where the output has them)."""
    out: dict[str, np.ndarray] = {}
    if "tumor_fraction_initial" in ds:
        out["tumor_initial"] = np.asarray(ds["tumor_fraction_initial"].values, np.float32)
    if "tumor" in ds and ds.sizes.get("snapshot", 0):
        out["tumor_final"] = np.asarray(ds["tumor"].isel(snapshot=-1).values) >= HALF
    if "ablation_zone" in ds:
        for n in range(ds.sizes["session"]):
            zone = ds["ablation_zone"].isel(session=n).values
            out[f"ablation_zone_{n + 1}"] = np.asarray(zone, bool)
    if "collagen" in ds and ds.sizes.get("snapshot", 0):
        out["scar_final"] = np.asarray(ds["collagen"].isel(snapshot=-1).values) >= HALF
    if "vessel" in ds:
        out["vessels"] = np.asarray(ds["vessel"].values, bool)
    if "organ" in ds:
        out["organ"] = np.asarray(ds["organ"].values, bool)
    return out


def has_scene(ds: xr.Dataset | None) -> bool:
    """Whether a run's fields call for 3-D views (``outputs.views_3d``, by default on when its
    anatomy came from an image)."""
    if ds is None or "tumor_fraction_initial" not in ds:
        return False
    wanted = ds.attrs.get("views_3d")
    return bool(wanted) if wanted is not None else ds.attrs.get("frame") == "scanner"


def scene_views(
    ds: xr.Dataset, folder: str | Path, session_days: list[float], backend: str = "auto"
) -> list[SceneView]:
    """Write ``session_<n>_3d.png`` for each session (the viable tumour just before it, its
    ablation zone, the vessels and the organ) and ``final_3d.png`` (viable tumour, dead
    tissue not yet cleared and scar at the last snapshot, with the vessels and the organ) into
    ``folder``."""
    folder = Path(folder)
    grid = fields_grid(ds)
    affine = fields_affine(ds)

    def mesh(region: np.ndarray) -> Surface:
        return in_frame(surface(region, grid), grid, affine, 1e-3)  # render3d takes metres

    def layer(name: str, region: np.ndarray) -> Layer:
        return Layer(name, mesh(region), _COLORS[name], _OPACITY.get(name, 1.0))

    region = regions(ds)
    background = [layer(n, region[key]) for n, key in (("vessels", "vessels"), ("organ", "organ"))
                  if key in region]  # fmt: skip
    labels = [str(v) for v in ds["snapshot_label"].values] if "snapshot" in ds.dims else []
    views = []
    for n in range(1, ds.sizes.get("session", 0) + 1):
        after = labels.index(f"after session {n}") if f"after session {n}" in labels else None
        if after is not None and after > 0 and "tumor" in ds:
            tumour = np.asarray(ds["tumor"].isel(snapshot=after - 1).values) >= HALF
        else:
            tumour = region["tumor_initial"]  # its partial volume: the surface at 1/2
        layers = [layer("tumour", tumour)]
        if f"ablation_zone_{n}" in region:
            layers.append(layer("ablation zone", region[f"ablation_zone_{n}"]))
        day = session_days[n - 1] if n <= len(session_days) else None
        title = f"Session {n}" + (f" (day {day:g})" if day is not None else "")
        name = f"session_{n}_3d.png"
        views.append(
            SceneView(
                name,
                render_layers(folder / name, layers + background, title=title, backend=backend),
            )
        )
    if labels:
        last = ds.isel(snapshot=-1)
        dead = np.asarray(last["coagulated"].values) + np.asarray(last["debris"].values)
        layers = [
            layer("tumour", region["tumor_final"]),
            layer("dead tissue", dead >= HALF),
            layer("scar", region["scar_final"]),
        ]
        day = float(ds["snapshot_day"].values[-1])
        name = "final_3d.png"
        views.append(
            SceneView(
                name,
                render_layers(
                    folder / name, layers + background, title=f"Day {day:g}", backend=backend
                ),
            )
        )
    return views
