"""Off-screen 3-D pictures of surfaces (tumour, ablation zone, vessels, organ) for the report.

:func:`render_layers` draws :class:`Layer` surfaces (from :func:`tissuefate.grid.surface.surface`)
into a PNG, in mm, on a white background, with a legend and labelled axes. It uses pyvista (VTK)
off-screen through EGL when that works (:func:`egl_available`) and otherwise matplotlib's mplot3d,
which needs no OpenGL; both place the camera the same way (:func:`render_layers`, ``view``).

VTK can abort the whole process when no OpenGL is present, so whether pyvista can render is probed
once per process in a subprocess. pyvista is imported only inside the functions that use it: the
package imports without it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.colors import is_color_like, to_rgb
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator

from ..grid.surface import Surface
from ._layout import DPI, _figure, _style

__all__ = [
    "MPL_FACE_BUDGET",
    "Layer",
    "Rendered",
    "egl_available",
    "render_layers",
]

#: Most triangles the matplotlib fallback draws (all layers together); larger surfaces are
#: decimated by vertex clustering. mplot3d sorts and draws every triangle in Python: 60 000 take
#: about 1.2 s.
MPL_FACE_BUDGET = 60_000
#: Triangles a layer keeps at least when the scene is decimated (a small tumour stays round).
_MPL_FACE_FLOOR = 3_000
#: Vertical field of view of the camera, degrees (both backends).
_VIEW_ANGLE = 30.0
#: Camera distance over the one at which the scene's bounding sphere just fills the view (pyvista):
#: room for the axes' labels outside the box.
_CAMERA_MARGIN = 1.25
#: Seconds the subprocess of :func:`egl_available` may take.
_PROBE_TIMEOUT = 60.0
_BACKENDS = ("auto", "pyvista", "matplotlib")
_FALLBACK_NOTICE = (
    "3-D view drawn with matplotlib: pyvista with EGL is not available (install "
    "tissuefate[imaging] and Debian's libegl1 libegl-mesa0 libgl1)"
)
_NO_PYVISTA = (
    "pyvista cannot render off-screen here: it needs pyvista (pip install 'tissuefate[imaging]') "
    "and an EGL OpenGL driver (Debian: apt install libegl1 libegl-mesa0 libgl1)"
)
_PROBE = textwrap.dedent(
    """
    import os
    import sys

    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista as pv

    plotter = pv.Plotter(off_screen=True, window_size=(64, 64))
    plotter.set_background("white")
    plotter.add_mesh(pv.Sphere(), color="red")
    image = plotter.screenshot(return_img=True)
    plotter.close()
    drawn = (image[..., :3] < 250).any(axis=-1).mean()
    sys.exit(0 if drawn > 0.05 else 3)
    """
)


@dataclass(frozen=True)
class Layer:
    """One surface of a 3-D picture.

    Parameters
    ----------
    name
        Legend label, e.g. ``"tumour"``, ``"ablation zone"``, ``"vessels"``, ``"liver"``.
    surface
        The surface, vertices in m.
    color
        A matplotlib colour.
    opacity
        In [0, 1]: 1 solid, about 0.35 for a zone that shows what it encloses, about 0.12 for an
        organ in the background.
    """

    name: str
    surface: Surface
    color: str
    opacity: float = 1.0

    def __post_init__(self) -> None:
        if not is_color_like(self.color):
            raise ValueError(f"layer {self.name!r}: {self.color!r} is not a matplotlib colour")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"layer {self.name!r}: opacity must be in [0, 1], got {self.opacity}")


@dataclass(frozen=True)
class Rendered:
    """A written 3-D picture.

    Parameters
    ----------
    path
        The PNG file.
    backend
        ``"pyvista"`` or ``"matplotlib"``.
    notice
        One line saying why the matplotlib fallback drew it; ``None`` when pyvista did, or when
        matplotlib was asked for.
    """

    path: Path
    backend: str
    notice: str | None


@functools.cache
def egl_available() -> bool:
    """Whether pyvista can render off-screen here (VTK through EGL, no X server).

    Probed once per process in a subprocess that renders a small sphere (VTK may abort a process
    that has no OpenGL): True only when that produced a picture that is not blank.
    """
    if find_spec("pyvista") is None:
        return False
    try:
        done = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _nice_step(length: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ that is at least ``length``."""
    exponent = 10.0 ** np.floor(np.log10(length))
    return float(next(m * exponent for m in (1.0, 2.0, 5.0, 10.0) if m * exponent >= length))


def _axis_ticks(lo: float, hi: float, unit: float) -> tuple[float, float, int]:
    """Limits (multiples of ``unit`` around ``[lo, hi]``) and the number of evenly spaced tick
    labels from limit to limit (4 to 7), all at multiples of ``unit``."""
    # a surface that pokes out by a few per cent of a unit does not widen the box by a unit
    first = int(np.floor(lo / unit + 0.05))
    last = max(int(np.ceil(hi / unit - 0.05)), first + 1)
    # widen by up to two units until 4, 5, 3 or 6 intervals divide the span: one of three
    # consecutive spans is a multiple of 3, so one always does
    start, stop, intervals = next(
        (first - extra // 2, last + extra - extra // 2, n)
        for extra in range(3)
        for n in (4, 5, 3, 6)
        if (last - first + extra) % n == 0
    )
    return start * unit, stop * unit, intervals + 1


@dataclass(frozen=True)
class _Frame:
    """What both backends show: the box ``lower``–``upper`` (mm; ``labels`` tick labels per
    axis from end to end), looked at from direction ``toward`` (unit vector from the box centre
    to the camera)."""

    lower: np.ndarray
    upper: np.ndarray
    labels: tuple[int, int, int]
    toward: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return 0.5 * (self.lower + self.upper)

    @property
    def radius(self) -> float:
        return 0.5 * float(np.linalg.norm(self.upper - self.lower))


def _frame(layers: Sequence[Layer], view: tuple[float, float]) -> _Frame:
    """The :class:`_Frame` of ``layers`` for ``view = (elevation, azimuth)`` in degrees, as
    matplotlib's ``view_init``."""
    points = np.concatenate([layer.surface.vertices for layer in layers]) * 1e3
    lo, hi = points.min(axis=0), points.max(axis=0)
    unit = _nice_step(max(float(np.max(hi - lo)), 1e-3) / 10.0)
    ticks = [_axis_ticks(float(a), float(b), unit) for a, b in zip(lo, hi, strict=True)]
    elevation, azimuth = np.radians(view)
    toward = np.array(
        [
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ]
    )
    return _Frame(
        np.array([t[0] for t in ticks]),
        np.array([t[1] for t in ticks]),
        tuple(t[2] for t in ticks),
        toward,
    )


def render_layers(
    path: str | Path,
    layers: Sequence[Layer],
    *,
    title: str = "",
    size: tuple[int, int] = (900, 700),
    backend: str = "auto",
    view: tuple[float, float] = (20.0, -60.0),
) -> Rendered:
    """Draw ``layers`` into the PNG file ``path`` and say how.

    Parameters
    ----------
    path
        The PNG file to write (its folder must exist).
    layers
        Drawn in order; empty surfaces are left out (also from the legend).
    title
        One line above the picture.
    size
        Width and height in pixels.
    backend
        ``"auto"``: pyvista when :func:`egl_available`, else matplotlib with a notice;
        ``"pyvista"`` or ``"matplotlib"`` to force one.
    view
        Elevation above the x–y plane and azimuth from +x towards +y of the camera, degrees (as
        matplotlib's ``view_init``); z points up. The camera looks at the centre of the layers'
        bounding box, all of which it shows.

    Raises
    ------
    ValueError
        For an unknown backend or a size that is not two positive integers.
    RuntimeError
        For ``backend="pyvista"`` when pyvista cannot render here.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
    if len(size) != 2 or any(int(n) < 1 for n in size):
        raise ValueError(f"size must be two positive pixel counts, got {size}")
    size = (int(size[0]), int(size[1]))
    path = Path(path)
    shown = [layer for layer in layers if not layer.surface.empty]
    notice = None
    if backend == "pyvista" and not egl_available():
        raise RuntimeError(_NO_PYVISTA)
    if backend == "auto" and not egl_available():
        backend, notice = "matplotlib", _FALLBACK_NOTICE
    if backend == "matplotlib":
        _render_matplotlib(path, shown, title, size, view)
        return Rendered(path, "matplotlib", notice)
    _render_pyvista(path, shown, title, size, view)
    return Rendered(path, "pyvista", None)


# --- pyvista -----------------------------------------------------------------------------------


def _polydata(pv: Any, s: Surface) -> Any:
    faces = np.hstack([np.full((len(s.faces), 1), 3, dtype=np.int64), s.faces]).ravel()
    mesh = pv.PolyData(s.vertices * 1e3, faces)
    return mesh.compute_normals(cell_normals=False, auto_orient_normals=False, split_vertices=False)


def _render_pyvista(
    path: Path,
    layers: Sequence[Layer],
    title: str,
    size: tuple[int, int],
    view: tuple[float, float],
) -> None:
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista as pv

    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    try:
        plotter.set_background("white")
        # No depth peeling: with Mesa's llvmpipe it drops translucent layers; VTK's default
        # order-independent transparency blends them well.
        if title:
            plotter.add_text(title, position="upper_edge", font_size=11, color="black")
        if not layers:
            plotter.add_text("no surface to show", position="lower_edge", color=(0.4, 0.4, 0.4))
            plotter.screenshot(str(path))
            return
        for layer in layers:
            plotter.add_mesh(
                _polydata(pv, layer.surface),
                color=to_rgb(layer.color),
                opacity=layer.opacity,
                smooth_shading=True,
                specular=0.25 if layer.opacity > 0.5 else 0.0,
                ambient=0.15,
                diffuse=0.85,
            )
        # the legend: each layer's name in its colour, at the upper right (a VTK legend box
        # scales its text to the box, which clips long names)
        longest = max(len(layer.name) for layer in layers)
        for i, layer in enumerate(layers):
            plotter.add_text(
                layer.name,
                position=(size[0] - 24 - 13 * longest, size[1] - 48 - 24 * i),
                font_size=12,
                color=to_rgb(layer.color),
            )
        frame = _frame(layers, view)
        plotter.show_bounds(
            bounds=[v for lo, hi in zip(frame.lower, frame.upper, strict=True) for v in (lo, hi)],
            xtitle="x (mm)",
            ytitle="y (mm)",
            ztitle="z (mm)",
            color=(0.15, 0.15, 0.15),
            font_size=12,
            location="outer",
            ticks="outside",
            bold=False,
            n_xlabels=frame.labels[0],
            n_ylabels=frame.labels[1],
            n_zlabels=frame.labels[2],
            fmt="%.0f",
        )
        camera = plotter.camera
        camera.view_angle = _VIEW_ANGLE
        camera.focal_point = tuple(frame.centre)
        # the bounding sphere fills the view's height less a margin for the axes' labels
        distance = _CAMERA_MARGIN * frame.radius / np.sin(np.radians(0.5 * _VIEW_ANGLE))
        camera.position = tuple(frame.centre + distance * frame.toward)
        camera.up = (0.0, 1.0, 0.0) if abs(frame.toward[2]) > 0.999 else (0.0, 0.0, 1.0)
        plotter.reset_camera_clipping_range()
        plotter.screenshot(str(path))
    finally:
        plotter.close()


# --- matplotlib --------------------------------------------------------------------------------


def _normals(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals of the faces, shape (m, 3), and of the vertices (area-weighted mean of the
    faces around each), shape (n, 3); zero where undefined."""
    face = np.cross(
        vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]]
    )  # length: twice the area, so the sums below weight by area
    vertex = np.stack(
        [
            sum(
                np.bincount(faces[:, k], weights=face[:, d], minlength=len(vertices))
                for k in range(3)
            )
            for d in range(3)
        ],
        axis=1,
    )

    def unit(v: np.ndarray) -> np.ndarray:
        length = np.linalg.norm(v, axis=1, keepdims=True)
        return v / np.where(length > 0.0, length, 1.0)

    return unit(face), unit(vertex)


def _decimated(s: Surface, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (m) and faces of ``s`` with at most about ``target`` triangles, by vertex
    clustering: vertices in one cube of a lattice merge into their mean; collapsed, repeated and
    folded-over triangles (facing against their vertices' normals, which would show as dark
    specks) go. Orientation is kept."""
    vertices, faces = s.vertices, s.faces
    if len(faces) <= target:
        return vertices, faces
    # a surface of area A cut by cubes of edge c keeps about 2 A / c² triangles
    cell = float(np.sqrt(2.0 * s.area / target))
    lower = vertices.min(axis=0)
    while True:
        keys = np.floor((vertices - lower) / cell).astype(np.int64)
        _, cluster = np.unique(keys, axis=0, return_inverse=True)
        cluster = cluster.ravel()
        counts = np.bincount(cluster)
        merged = np.stack(
            [np.bincount(cluster, weights=vertices[:, d]) / counts for d in range(3)], axis=1
        )
        kept = cluster[faces]
        kept = kept[
            (kept[:, 0] != kept[:, 1]) & (kept[:, 1] != kept[:, 2]) & (kept[:, 0] != kept[:, 2])
        ]
        _, first = np.unique(np.sort(kept, axis=1), axis=0, return_index=True)
        kept = kept[np.sort(first)]
        if len(kept) <= 1.1 * target:
            face_normals, vertex_normals = _normals(merged, kept)
            facing = np.einsum("ij,ij->i", face_normals, vertex_normals[kept].sum(axis=1))
            return merged, kept[facing > 0.0]
        cell *= 1.2


def _face_budgets(layers: Sequence[Layer]) -> list[int]:
    """Triangles each layer may keep: all when the scene fits :data:`MPL_FACE_BUDGET`, else a
    share in proportion to its triangles, at least :data:`_MPL_FACE_FLOOR`."""
    counts = [len(layer.surface.faces) for layer in layers]
    total = sum(counts)
    if total <= MPL_FACE_BUDGET:
        return counts
    return [max(int(n * MPL_FACE_BUDGET / total), min(n, _MPL_FACE_FLOOR)) for n in counts]


def _shaded(
    vertices: np.ndarray, faces: np.ndarray, color: str, opacity: float, light: np.ndarray
) -> np.ndarray:
    """RGBA per face: Lambert shading from ``light`` (unit vector towards the light) of the mean
    of the face's vertex normals (smoother than the faces' own), lit on both sides, so that
    inner walls of translucent layers show."""
    _, vertex_normals = _normals(vertices, faces)
    normals = vertex_normals[faces].sum(axis=1)
    length = np.linalg.norm(normals, axis=1)
    cosine = np.abs(normals @ light) / np.where(length > 0.0, length, 1.0)
    brightness = 0.35 + 0.65 * cosine
    rgba = np.empty((len(faces), 4))
    rgba[:, :3] = np.clip(np.asarray(to_rgb(color)) * brightness[:, None], 0.0, 1.0)
    rgba[:, 3] = opacity
    return rgba


def _render_matplotlib(
    path: Path,
    layers: Sequence[Layer],
    title: str,
    size: tuple[int, int],
    view: tuple[float, float],
) -> None:
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    with _style(), mpl.rc_context({"grid.color": "0.85"}):  # mplot3d reads it for its grid
        fig = _figure(size[0] / DPI, size[1] / DPI)
        fig.set_facecolor("white")
        ax = fig.add_axes((0.0, 0.0, 1.0, 0.94 if title else 1.0), projection="3d")
        ax.set_facecolor("white")
        focal_length = 1.0 / np.tan(np.radians(0.5 * _VIEW_ANGLE))
        ax.set_proj_type("persp", focal_length=focal_length)
        ax.view_init(elev=view[0], azim=view[1])
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_pane_color((0.97, 0.97, 0.97, 1.0))
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_zlabel("z (mm)")
        if title:
            fig.suptitle(title, y=0.985)
        if not layers:
            ax.text2D(0.5, 0.5, "no surface to show", transform=ax.transAxes, ha="center")
        else:
            frame = _frame(layers, view)
            toward = frame.toward
            # the light comes from behind the viewer's left shoulder
            up = np.array([0.0, 0.0, 1.0]) if abs(toward[2]) < 0.999 else np.array([0, 1.0, 0])
            left = np.cross(up, toward)
            light = toward + 0.4 * left / np.linalg.norm(left) + 0.4 * up
            light /= np.linalg.norm(light)
            polygons, colours = [], []
            for layer, budget in zip(layers, _face_budgets(layers), strict=True):
                vertices, faces = _decimated(layer.surface, budget)
                polygons.append(vertices[faces] * 1e3)
                colours.append(_shaded(vertices, faces, layer.color, layer.opacity, light))
            # One collection: mplot3d then sorts the triangles of all layers by depth together.
            # Solid faces get edges of their own colour, which close the antialiasing seams
            # between them; translucent ones none (their edges would show as a mesh).
            faces_rgba = np.concatenate(colours)
            edges_rgba = faces_rgba.copy()
            edges_rgba[faces_rgba[:, 3] < 1.0, 3] = 0.0
            ax.add_collection3d(
                Poly3DCollection(
                    np.concatenate(polygons),
                    facecolors=faces_rgba,
                    edgecolors=edges_rgba,
                    linewidths=0.3,
                )
            )
            limits = (ax.set_xlim, ax.set_ylim, ax.set_zlim)
            for lim, lo, hi in zip(limits, frame.lower, frame.upper, strict=True):
                lim(lo, hi)
            for axis, n, lo, hi in zip(
                (ax.xaxis, ax.yaxis, ax.zaxis), frame.labels, frame.lower, frame.upper, strict=True
            ):
                axis.set_major_locator(FixedLocator(np.linspace(lo, hi, n)))
            ax.set_box_aspect(frame.upper - frame.lower, zoom=0.9)
            ax.legend(
                handles=[
                    Patch(facecolor=layer.color, alpha=max(layer.opacity, 0.35), label=layer.name)
                    for layer in layers
                ],
                loc="upper right",
                frameon=True,
                framealpha=1.0,
            )
        fig.savefig(path, format="png", dpi=DPI, facecolor="white")
