"""The imaging model: the published detection curve, and what a scan sees on known lesions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import curve_fit

from tissuefate.course.imaging import (
    DETECTION_DIAMETER_MM,
    DETECTION_SLOPE_MM,
    KO_2017_BINS,
    VIABLE_THRESHOLD,
    detection_probability,
    scan,
    visible_tumor,
)
from tissuefate.grid.grid import Grid
from tissuefate.scenario.course import ImagingSettings

SPACING_MM = 0.5
GRID = Grid.centred((0.032, 0.032, 0.032), SPACING_MM * 1e-3)
VOXEL_ML = GRID.voxel_volume * 1e6
# Centres on voxel corners, so each voxelised sphere is mirror-symmetric about its centre.
BIG = ((-8.0, 0.0, 0.0), 6.0)  # 12 mm across: above the 7.68 mm threshold
SMALL = ((8.0, 4.0, -4.0), 2.0)  # 4 mm across: below it


def _spheres(*spheres: tuple[tuple[float, float, float], float], value: float = 1.0) -> np.ndarray:
    x, y, z = np.meshgrid(*GRID.axes_mm(), indexing="ij")
    tumor = np.zeros(GRID.shape, dtype=np.float32)
    for (cx, cy, cz), radius in spheres:
        tumor[(x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 <= radius**2] = value
    return tumor


def _logistic(d: np.ndarray, d50: float, scale: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(d - d50) / scale))


def test_logistic_refit_to_ko_2017_gives_the_constants() -> None:
    centres, sensitivity = np.array(KO_2017_BINS).T
    (d50, scale), _ = curve_fit(_logistic, centres, sensitivity, p0=(8.0, 2.0))
    # the constants are stated to two decimals
    assert round(d50, 2) == DETECTION_DIAMETER_MM
    assert round(scale, 2) == DETECTION_SLOPE_MM
    assert detection_probability(DETECTION_DIAMETER_MM) == pytest.approx(0.5)


def test_imaging_settings_default_is_the_viable_threshold() -> None:
    assert ImagingSettings().viable_fraction == VIABLE_THRESHOLD


def test_deterministic_scan_of_two_spheres() -> None:
    tumor = _spheres(BIG, SMALL)
    result, labels = scan(tumor, GRID, 7.0)
    assert result.day == 7.0
    assert result.detection == "deterministic"
    assert len(result.lesions) == 2
    by_size = sorted(result.lesions, key=lambda lesion: -lesion.diameter_mm)
    for lesion, ((cx, cy, cz), radius) in zip(by_size, (BIG, SMALL), strict=True):
        # A voxelised sphere gains and loses partial voxels at its surface; its
        # volume-equivalent diameter stays within half a voxel edge of 2R.
        assert lesion.diameter_mm == pytest.approx(2 * radius, abs=SPACING_MM / 2)
        assert lesion.center_mm == pytest.approx((cx, cy, cz), abs=1e-9)  # symmetric voxels
        voxels = int((labels == lesion.label).sum())
        assert lesion.volume_ml == pytest.approx(voxels * VOXEL_ML)
        assert lesion.viable_ml == pytest.approx(voxels * VOXEL_ML)
        assert lesion.detection_probability == pytest.approx(
            detection_probability(lesion.diameter_mm)
        )
    assert [lesion.visible for lesion in by_size] == [True, False]
    assert result.visible_ml == pytest.approx(by_size[0].viable_ml)
    assert result.viable_ml == pytest.approx(float(tumor.sum(dtype=np.float64)) * VOXEL_ML)
    assert labels.dtype == np.int32
    assert set(np.unique(labels)) == {0, 1, 2}
    assert np.array_equal(labels > 0, tumor >= VIABLE_THRESHOLD)


def test_scan_agrees_with_visible_tumor() -> None:
    tumor = _spheres(BIG, SMALL)
    result, labels = scan(tumor, GRID, 0.0)
    volume, mask = visible_tumor(tumor, VOXEL_ML)
    visible = [lesion.label for lesion in result.lesions if lesion.visible]
    assert volume == pytest.approx(result.visible_ml)
    assert np.array_equal(mask, np.isin(labels, visible))


def test_as_dict_is_plain_json() -> None:
    result, _ = scan(_spheres(BIG, SMALL), GRID, 3.0)
    data = result.as_dict()
    assert data["day"] == 3.0
    assert [lesion["visible"] for lesion in data["lesions"]] == [True, False]
    lesion = data["lesions"][0]
    assert isinstance(lesion["center_mm"], list)
    assert all(type(c) is float for c in lesion["center_mm"])
    assert type(lesion["label"]) is int
    assert type(lesion["visible"]) is bool
    assert type(lesion["diameter_mm"]) is float


def test_empty_scan() -> None:
    result, labels = scan(np.zeros(GRID.shape), GRID, 1.0, detection="stochastic", rng=0)
    assert result.lesions == ()
    assert result.visible_ml == 0.0
    assert not labels.any()


def _cubes(edge: int, gap: int, count: int) -> tuple[np.ndarray, Grid]:
    """``count``³ separate cubes of ``edge`` voxels (1 mm), ``gap`` voxels apart."""
    period = edge + gap
    grid = Grid.centred((period * count * 1e-3,) * 3, 1e-3)
    tumor = np.zeros(grid.shape, dtype=np.float32)
    cell = np.zeros((period,) * 3, dtype=np.float32)
    cell[:edge, :edge, :edge] = 1.0
    tumor[...] = np.tile(cell, (count, count, count))
    return tumor, grid


def test_stochastic_scan_is_reproducible_and_draws_once_per_lesion() -> None:
    tumor, grid = _cubes(edge=5, gap=1, count=4)
    first, labels = scan(tumor, grid, 0.0, detection="stochastic", rng=np.random.default_rng(7))
    again, _ = scan(tumor, grid, 0.0, detection="stochastic", rng=np.random.default_rng(7))
    assert first == again
    assert first.detection == "stochastic"
    # one draw per lesion, in label order
    draws = np.random.default_rng(7).random(len(first.lesions))
    probability = [lesion.detection_probability for lesion in first.lesions]
    assert [lesion.visible for lesion in first.lesions] == list(draws < probability)
    assert [lesion.label for lesion in first.lesions] == list(range(1, 65))
    # the labelling does not depend on the draws
    assert np.array_equal(labels, scan(tumor, grid, 0.0)[1])


def test_stochastic_visible_fraction_approaches_the_detection_probability() -> None:
    # 1000 cubes of 125 mm³: 6.20 mm across, detected with p = 0.33 (1 - p = 0.67 would be
    # more than 20 standard deviations away)
    tumor, grid = _cubes(edge=5, gap=1, count=10)
    result, _ = scan(tumor, grid, 0.0, detection="stochastic", rng=np.random.default_rng(2024))
    n = len(result.lesions)
    assert n == 1000
    p = detection_probability((6 * 125 / math.pi) ** (1 / 3))
    assert all(lesion.detection_probability == pytest.approx(p) for lesion in result.lesions)
    seen = sum(lesion.visible for lesion in result.lesions) / n
    assert seen == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))  # 4 binomial sd


def test_stochastic_detection_needs_a_generator() -> None:
    with pytest.raises(ValueError, match="random generator"):
        scan(_spheres(BIG), GRID, 0.0, detection="stochastic")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"detection": "maybe"}, "detection must be"),
        ({"viable_fraction": 0.0}, r"viable_fraction must be in \(0, 1\]"),
        ({"viable_fraction": 1.5}, r"viable_fraction must be in \(0, 1\]"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scan(_spheres(BIG), GRID, 0.0, **kwargs)  # type: ignore[arg-type]


def test_viable_fraction_decides_what_a_diffusely_killed_tumour_shows() -> None:
    # the big sphere with 30 % of its cells left alive everywhere
    tumor = _spheres(BIG, value=0.3)
    strict, labels = scan(tumor, GRID, 0.0)
    assert strict.lesions == ()
    assert strict.visible_ml == 0.0
    assert not labels.any()
    assert strict.viable_ml == pytest.approx(0.3 * float((tumor > 0).sum()) * VOXEL_ML, rel=1e-6)
    lenient, _ = scan(tumor, GRID, 0.0, viable_fraction=0.25)
    assert [lesion.visible for lesion in lenient.lesions] == [True]
    assert lenient.lesions[0].viable_ml == pytest.approx(0.3 * lenient.lesions[0].volume_ml)
    assert lenient.visible_ml == pytest.approx(lenient.viable_ml)
    assert visible_tumor(tumor, VOXEL_ML)[0] == 0.0
    assert visible_tumor(tumor, VOXEL_ML, viable_fraction=0.25)[0] == pytest.approx(
        lenient.visible_ml
    )
