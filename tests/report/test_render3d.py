"""3-D pictures of surfaces: pyvista off-screen (where EGL works) and the matplotlib fallback draw
the layers in their colours; the fallback says why it was used; decimation keeps the shape."""

from __future__ import annotations

import os

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv, to_rgb
from matplotlib.image import imread

from tissuefate.grid import Grid, Sphere
from tissuefate.grid.surface import Surface, surface
from tissuefate.report import render3d
from tissuefate.report.render3d import Layer, _decimated, egl_available, render_layers

pytest.importorskip("skimage", reason="surface meshes need scikit-image")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Two well separated hues, for the spheres and for finding them in the picture.
RED, BLUE = "#d62728", "#1f5fbf"
#: Least share of the picture each sphere's colour must cover: the legend's swatch and text in
#: that colour cover far less, so the spheres themselves must have been drawn.
MIN_COLOUR_SHARE = 0.01


@pytest.fixture(scope="module")
def grid() -> Grid:
    return Grid(shape=(40, 24, 24), spacing=1e-3)


@pytest.fixture(scope="module")
def two_spheres(grid: Grid) -> list[Layer]:
    """A solid red sphere and a translucent blue one beside it; an empty layer is left out."""
    centres = grid.centres()
    left = surface(Sphere((-0.009, 0.0003, -0.0002), 0.007).contains(centres), grid)
    right = surface(Sphere((0.009, -0.0002, 0.0004), 0.007).contains(centres), grid)
    nothing = surface(np.zeros(grid.shape, dtype=bool), grid)
    return [
        Layer("tumour", left, RED),
        Layer("ablation zone", right, BLUE, opacity=0.6),
        Layer("vessels", nothing, "green"),
    ]


def _colour_share(image: np.ndarray, colour: str) -> float:
    """Share of the pixels with the hue of ``colour`` (shading changes brightness, not hue)."""
    hsv = rgb_to_hsv(image[..., :3])
    hue = rgb_to_hsv(np.asarray(to_rgb(colour)))[0]
    distance = np.abs((hsv[..., 0] - hue + 0.5) % 1.0 - 0.5)
    return float(np.mean((distance < 0.04) & (hsv[..., 1] > 0.35) & (hsv[..., 2] > 0.15)))


def _check_picture(path, size: tuple[int, int]) -> None:
    assert path.read_bytes().startswith(PNG_MAGIC)
    image = imread(path)
    assert image.shape[:2] == (size[1], size[0])
    drawn = np.mean(np.any(image[..., :3] < 0.95, axis=-1))
    assert drawn > 0.01, "the picture is blank"
    assert _colour_share(image, RED) > MIN_COLOUR_SHARE
    assert _colour_share(image, BLUE) > MIN_COLOUR_SHARE
    assert _colour_share(image, "green") < 0.001  # the empty layer is not drawn


@pytest.fixture
def without_egl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render3d, "egl_available", lambda: False)


def test_pyvista_draws_both_layers(tmp_path, two_spheres: list[Layer]) -> None:
    if not egl_available():
        if os.environ.get("CI") == "true":  # .ci/run installs libegl1 libegl-mesa0 libgl1
            pytest.fail("pyvista cannot render off-screen on CI: install EGL (see .ci/run)")
        pytest.skip("pyvista cannot render off-screen here (no pyvista, or no EGL OpenGL)")
    size = (640, 480)
    rendered = render_layers(tmp_path / "spheres.png", two_spheres, title="two spheres", size=size)
    assert rendered.backend == "pyvista"
    assert rendered.notice is None
    _check_picture(rendered.path, size)


def test_matplotlib_fallback_draws_both_layers_and_says_why(
    tmp_path, two_spheres: list[Layer], without_egl: None
) -> None:
    size = (640, 480)
    rendered = render_layers(tmp_path / "spheres.png", two_spheres, title="two spheres", size=size)
    assert rendered.backend == "matplotlib"
    assert "matplotlib" in rendered.notice
    assert "EGL" in rendered.notice
    assert "\n" not in rendered.notice
    _check_picture(rendered.path, size)


def test_forced_matplotlib_has_no_notice(tmp_path, two_spheres: list[Layer]) -> None:
    rendered = render_layers(tmp_path / "top.png", two_spheres, backend="matplotlib", view=(90, 0))
    assert (rendered.backend, rendered.notice) == ("matplotlib", None)
    _check_picture(rendered.path, (900, 700))


def test_forcing_pyvista_without_it_raises(
    tmp_path, two_spheres: list[Layer], without_egl: None
) -> None:
    with pytest.raises(RuntimeError, match="EGL"):
        render_layers(tmp_path / "x.png", two_spheres, backend="pyvista")
    assert not (tmp_path / "x.png").exists()


def test_probe_fails_when_the_subprocess_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe behind :func:`egl_available` (uncached): a failing render script, or no
    pyvista, means no pyvista rendering."""
    probe = egl_available.__wrapped__
    monkeypatch.setattr(render3d, "_PROBE", "import sys; sys.exit(3)")
    assert probe() is False
    monkeypatch.setattr(render3d, "find_spec", lambda name: None)
    assert probe() is False


def test_only_empty_layers_still_give_a_picture(tmp_path, grid: Grid) -> None:
    empty = Layer("tumour", surface(np.zeros(grid.shape, dtype=bool), grid), RED)
    rendered = render_layers(tmp_path / "empty.png", [empty], backend="matplotlib")
    assert rendered.path.read_bytes().startswith(PNG_MAGIC)


def test_bad_arguments_are_rejected(tmp_path, two_spheres: list[Layer]) -> None:
    with pytest.raises(ValueError, match="backend"):
        render_layers(tmp_path / "x.png", two_spheres, backend="vtk")
    with pytest.raises(ValueError, match="size"):
        render_layers(tmp_path / "x.png", two_spheres, size=(0, 100))
    s = two_spheres[0].surface
    with pytest.raises(ValueError, match="colour"):
        Layer("tumour", s, "not-a-colour")
    with pytest.raises(ValueError, match="opacity"):
        Layer("tumour", s, RED, opacity=1.5)


def test_decimation_keeps_the_shape() -> None:
    """A sphere of about 76 000 triangles cut to 8 000 keeps its area and volume within 2 %, and
    every kept triangle faces outwards."""
    grid = Grid(shape=(100, 100, 100), spacing=1e-3)
    ball = Sphere((0.0003, -0.0002, 0.0001), 0.045)
    full = surface(ball.contains(grid.centres()), grid)
    assert len(full.faces) > 70_000
    vertices, faces = _decimated(full, 8_000)
    small = Surface(vertices, faces)
    assert 4_000 < len(faces) <= 8_800
    assert small.area == pytest.approx(full.area, rel=0.02)
    assert small.volume == pytest.approx(full.volume, rel=0.02)
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    outward = np.einsum("ij,ij->i", np.cross(b - a, c - a), a - np.asarray(ball.center))
    assert np.all(outward > 0.0)
