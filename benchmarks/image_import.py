"""Import of a CT-sized segmentation: read, crop and resample a 512 x 512 x 300 label map.

Writes a synthetic abdominal label map (0.75 x 0.75 x 1.5 mm voxels, tilted 12 degrees about z:
an organ, two tumours, a vessel) as NIfTI, then times, each in its own step:

- ``read``: nibabel's decompression and the label checks (:func:`read_segmentation`);
- ``resolve``: the crop around the tumours and the positions (:func:`resolve_image`);
- ``resample``: the roles on a 1 mm grid (sub-voxel sampling) and the tumours' components;
- ``total``: :func:`tissuefate.course.prepare.build_tissue`, all of it, as a run does.

Usage: ``python benchmarks/image_import.py [--spacing 1] [--keep DIR]``. Timings on a shared
2-core machine are noisy: take the best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import yaml

from tissuefate.course.prepare import build_tissue
from tissuefate.grid import Grid
from tissuefate.grid.image import (
    ImageGrid,
    image_tumors,
    read_segmentation,
    resample_roles,
    resolve_image,
)
from tissuefate.scenario import loads_scenario

SHAPE = (512, 512, 300)
SPACING = (0.75, 0.75, 1.5)


def affine() -> np.ndarray:
    """Voxel index -> scanner mm of the label map."""
    angle = np.deg2rad(12.0)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    out = np.eye(4)
    out[:3, :3] = rotation * np.array(SPACING)
    out[:3, 3] = (-190.0, -200.0, -450.0)
    return out


def write_label_map(path: Path) -> None:
    labels = np.zeros(SHAPE, np.uint8)
    # slab by slab: the shapes in index space (their tilt does not matter for the timing)
    i = np.arange(SHAPE[0])[:, None]
    j = np.arange(SHAPE[1])[None, :]
    for k in range(SHAPE[2]):
        organ = ((i - 300) / 160.0) ** 2 + ((j - 260) / 130.0) ** 2 + ((k - 150) / 90.0) ** 2 < 1
        slab = np.where(organ, 1, 0).astype(np.uint8)
        for ci, cj, ck, r in ((300, 250, 150, 20.0), (360, 300, 170, 12.0)):
            slab[(i - ci) ** 2 + (j - cj) ** 2 + ((k - ck) * 2) ** 2 < r**2] = 2
        slab[((i - 270) ** 2 + ((k - 140) * 2) ** 2 < 36) & (j > 150) & (j < 380)] = 3
        labels[:, :, k] = slab
    placed = affine()
    image = nib.Nifti1Image(labels, placed)
    image.set_qform(placed, code=1)
    image.set_sform(placed, code=1)
    nib.save(image, str(path))


def heat_session() -> dict:
    """A session that costs nothing, at the larger tumour's centre (scanner mm)."""
    centre = affine() @ np.array([300.0, 250.0, 150.0, 1.0])
    return {
        "modality": "heat_source",
        "sources": [
            {"shape": "point", "center": [f"{c:.3f} mm" for c in centre[:3]], "power": "1 W"}
        ],
        "duration": "5 s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spacing", type=float, default=1.0, help="grid spacing, mm")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the label map here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ct_labels.nii.gz"
    if not path.exists():
        write_label_map(path)
    data = {
        "name": "ct-import",
        "grid": {"spacing": f"{args.spacing} mm"},
        "anatomy": {"image": {"path": str(path), "labels": {"liver": 1, "tumor": 2, "vessel": 3}}},
        "strategies": {"s": {"sessions": [heat_session()]}},
    }
    source = str(folder / "scenario.yaml")
    text = yaml.safe_dump(data)
    best: dict[str, float] = {}

    def timed(step: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        out = fn()
        best[step] = min(best.get(step, np.inf), time.perf_counter() - start)
        return out

    for _ in range(args.repeats):
        scenario = loads_scenario(text, source=source)
        seg = timed("read", lambda s=scenario: read_segmentation(s.anatomy.image, source=source))
        resolved, _ = timed("resolve", lambda s=scenario, g=seg: resolve_image(s, source, g))
        spec = resolved.anatomy.image
        grid = Grid(shape=resolved.grid.shape, spacing=resolved.grid.spacing_m)
        where = ImageGrid(grid, np.array(spec.center_m) * 1e3)
        roles = timed("resample", lambda g=seg, w=where: resample_roles(g, w))
        timed("components", lambda r=roles, g=grid: image_tumors(r["tumor"], g))
        _, _, anatomy = timed("total", lambda s=scenario: build_tissue(s, source))
    print(f"label map {SHAPE}, voxels {SPACING} mm, {path.stat().st_size / 1e6:.1f} MB on disk")
    print(f"grid {anatomy.grid.shape} at {args.spacing} mm, tumours {anatomy.tumor_names}")
    for step, seconds in best.items():
        print(f"{step:>10}: {seconds:6.2f} s (best of {args.repeats})")


if __name__ == "__main__":
    main()
