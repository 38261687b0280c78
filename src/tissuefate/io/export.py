"""Fields and surfaces for 3D Slicer and ParaView: NIfTI volumes, VTK image data, surface meshes.

:func:`export_fields` turns the field snapshots of a run (``fields.zarr``) into

``nifti/NAME.nii.gz``
    One file per field: 3-D for a static field, 4-D for one with a snapshot, session or scan
    axis (its 4th axis; 3D Slicer loads it as a volume sequence). Its affine places it in the
    scanner coordinates of the source image (RAS+, mm) when the anatomy came from an image, so
    it overlays the patient image; else in the grid's own frame. ``space="source"`` resamples
    it onto the source image's own voxels instead (same shape and affine as the input).
``vti/static.vti``, ``vti/snapshot_NNN.vti``, ``vti/session_N.vti``, ``vti/scan_N.vti``
    VTK XML image data (point data, one array per field), and ``vti/snapshots.pvd``: the
    snapshots as a time series in days, for ParaView.
``meshes/NAME.vtk``
    Surfaces (legacy VTK polygon data, in mm, in the same frame as the volumes, with
    ``SPACE=RAS`` in the header, as 3D Slicer reads it): the tumour before treatment and at the
    last snapshot, each session's ablation zone, the scar at the last snapshot (collagen ≥ 1/2),
    the large vessels and the segmented organ.

Everything is written to a temporary folder first and moved into place whole.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import xarray as xr
import yaml

from ..grid.image import ROLE_CODES, require_nibabel, sample_nearest
from ..grid.surface import Surface, surface
from ..report.scene_figures import HALF, fields_affine, fields_grid, in_frame, regions

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "Exported",
    "export_fields",
    "read_vti",
    "resample_to",
    "segmentation_labels",
    "write_nifti",
    "write_vti",
    "write_vtk_mesh",
]

EXPORT_FORMATS = ("nifti", "vti", "meshes")
_STACKED = ("snapshot", "session", "scan")
_VTK_TYPES = {
    np.dtype(np.uint8): "UInt8",
    np.dtype(np.int32): "Int32",
    np.dtype(np.float32): "Float32",
    np.dtype(np.float64): "Float64",
}


class ExportError(ValueError):
    """A request :func:`export_fields` cannot carry out; ``option`` names the argument at fault
    (``formats``, ``fields`` or ``space``)."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass
class Exported:
    """What :func:`export_fields` wrote: the folder and its files (relative paths)."""

    folder: Path
    files: list[str] = field(default_factory=list)


def _volume(var: xr.DataArray) -> np.ndarray:
    """The variable's values with x, y, z first and any stacked axis last."""
    stack = [d for d in var.dims if d in _STACKED]
    values = np.asarray(var.transpose("x", "y", "z", *stack).values)
    if values.dtype == np.bool_:
        values = values.astype(np.uint8)
    if values.dtype.kind == "f" and values.dtype != np.float64:
        values = values.astype(np.float32)
    return values


def _spatial(ds: xr.Dataset, names: Iterable[str] | None) -> list[str]:
    chosen = list(ds.data_vars) if names is None else list(names)
    missing = [n for n in chosen if n not in ds.data_vars]
    if missing:
        raise ExportError(
            "fields",
            f"no field {missing[0]!r} in the output; it has: {', '.join(sorted(ds.data_vars))}",
        )
    return [
        n
        for n in chosen
        if {"x", "y", "z"} <= set(ds[n].dims) and len(set(ds[n].dims) - {"x", "y", "z"}) <= 1
    ]


def export_fields(
    ds: xr.Dataset,
    folder: str | os.PathLike[str],
    *,
    formats: Sequence[str] = EXPORT_FORMATS,
    fields: Iterable[str] | None = None,
    space: str = "grid",
) -> Exported:
    """Write the fields of ``ds`` (an output's ``fields.zarr``) for 3D Slicer and ParaView into
    ``folder`` (replaced if it exists; see the module docstring for what is written).

    Parameters
    ----------
    formats
        Any of ``nifti``, ``vti``, ``meshes``.
    fields
        The fields to write as volumes (default: all of them); meshes are always the surfaces
        of :func:`surfaces`.
    space
        ``grid``: NIfTI volumes on the simulation grid, placed by its affine; ``source``: each
        resampled onto the source image's voxels (an anatomy from an image only).

    Raises
    ------
    ExportError
        Before anything is written: no format or an unknown one, an unknown space,
        ``space="source"`` without a readable source image, a field the output does not have.
    """
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown or not formats:
        shown = repr(unknown[0]) if unknown else "none given"
        raise ExportError("formats", f"unknown format {shown}; use: {', '.join(EXPORT_FORMATS)}")
    if space not in ("grid", "source"):
        raise ExportError("space", f"unknown space {space!r}; use grid or source")
    names = _spatial(ds, fields)
    reference = _source_reference(ds) if space == "source" and "nifti" in formats else None
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    out = Exported(target)
    try:
        affine = fields_affine(ds)
        if "nifti" in formats:
            volumes = {name: _volume(ds[name]) for name in names}
            labels = segmentation_labels(ds)
            if labels is not None:
                volumes["labels"] = labels
            for name, volume in volumes.items():
                path = Path("nifti") / f"{name}.nii.gz"
                description = (
                    "the segmentation as simulated, in its labels"
                    if name == "labels"
                    else _description(ds[name])
                )
                if reference is not None:
                    placed = resample_to(volume, affine, *reference)
                    write_nifti(partial / path, placed, reference[1], description)
                else:
                    write_nifti(partial / path, volume, affine, description)
                out.files.append(str(path))
        if "vti" in formats:
            out.files += _write_vti_series(ds, names, affine, partial)
        if "meshes" in formats:
            grid = fields_grid(ds)
            for name, region in regions(ds).items():
                mesh = surface(region, grid)
                if mesh.empty:
                    continue
                mesh = in_frame(mesh, grid, affine)
                path = Path("meshes") / f"{name}.vtk"
                write_vtk_mesh(partial / path, mesh, title=f"tissuefate {name}")
                out.files.append(str(path))
        if target.exists():
            shutil.rmtree(target)
        os.rename(partial, target)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


def segmentation_labels(ds: xr.Dataset) -> np.ndarray | None:
    """The segmentation as the simulation saw it, in the labels of its source (the first label
    of each role; with masks, 1 organ, 2 tumour, 3 vessel): uint16 (x, y, z), None unless the
    anatomy came from an image. Tumour where its partial volume is at least 1/2."""
    if ds.attrs.get("frame") != "scanner" or "organ" not in ds:
        return None
    image = (yaml.safe_load(ds.attrs.get("scenario", "")) or {}).get("anatomy", {}).get("image")
    labels = (image or {}).get("labels") or {}
    value = {role: int(v[0]) for role, v in labels.items()}
    value.setdefault("organ", value.get("liver", ROLE_CODES["organ"]))
    out = np.zeros(ds["organ"].shape, np.uint16)
    out[np.asarray(ds["organ"].values, bool)] = value["organ"]
    tumor = np.asarray(ds["tumor_fraction_initial"].values) >= HALF
    out[tumor] = value.get("tumor", ROLE_CODES["tumor"])
    out[np.asarray(ds["vessel"].values, bool)] = value.get("vessel", ROLE_CODES["vessel"])
    return out


def _description(var: xr.DataArray) -> str:
    units = var.attrs.get("units", "")
    return f"{var.attrs.get('long_name', var.name)} [{units}]"[:79]


# --------------------------------------------------------------------------------------------
# NIfTI
# --------------------------------------------------------------------------------------------


def write_nifti(
    path: str | os.PathLike[str], volume: np.ndarray, affine: np.ndarray, description: str = ""
) -> Path:
    """Write a 3-D or 4-D ``volume`` (x, y, z[, t]) with ``affine`` (voxel index → mm) as NIfTI-1,
    qform and sform both set (scanner-aligned), units mm."""
    nib = require_nibabel()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.asanyarray(volume), np.asarray(affine, float))
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units(xyz="mm", t="unknown")
    image.header["descrip"] = description.encode("ascii", "replace")[:79]
    nib.save(image, str(path))
    return path


def _source_reference(ds: xr.Dataset) -> tuple[tuple[int, int, int], np.ndarray]:
    path = ds.attrs.get("source_image")
    if not path:
        raise ExportError("space", "its anatomy did not come from an image; use --space grid")
    if not Path(path).is_file():
        raise ExportError("space", f"the source image {path} is gone")
    try:
        image = require_nibabel().load(str(path))
    except Exception as exc:
        raise ExportError("space", f"cannot read the source image {path} ({exc})") from None
    return tuple(int(n) for n in image.shape[:3]), np.asarray(image.affine, float)  # type: ignore[return-value]


def resample_to(
    volume: np.ndarray, affine: np.ndarray, shape: Sequence[int], target_affine: np.ndarray
) -> np.ndarray:
    """``volume`` (x, y, z[, t]; voxel index → mm by ``affine``) on the voxels of another image
    (``shape``, ``target_affine``): the value of the grid voxel that holds each target voxel's
    centre (nearest neighbour, so labels stay labels); outside the grid 0 for integers and NaN
    for floats."""
    to_grid = np.linalg.inv(affine) @ np.asarray(target_affine, float)
    nx, ny, nz = (int(n) for n in shape)
    fill = np.nan if volume.dtype.kind == "f" else 0
    out = np.empty((nx, ny, nz, *volume.shape[3:]), volume.dtype)
    j = np.arange(ny)[:, None]
    k = np.arange(nz)[None, :]
    for i in range(nx):  # a slab at a time: the target may be a 512 x 512 x 300 CT
        out[i] = sample_nearest(volume, to_grid, i, j, k, fill)
    return out


# --------------------------------------------------------------------------------------------
# VTK image data (XML, appended raw binary)
# --------------------------------------------------------------------------------------------


def write_vti(
    path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], affine: np.ndarray
) -> Path:
    """Write 3-D ``arrays`` (all of one shape, x, y, z) as VTK XML image data: point data on
    the voxel centres, origin and spacing from ``affine`` (which must be axis-aligned and
    isotropic, as the simulation grid is)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    linear = affine[:3, :3]
    if not np.allclose(linear, np.diag(np.diag(linear))):
        raise ValueError("VTK image data needs an axis-aligned affine")
    spacing = np.diag(linear)
    origin = affine[:3, 3]
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"all arrays must have one shape, got {sorted(shapes)}")
    (shape,) = shapes
    extent = " ".join(f"0 {n - 1}" for n in shape)
    blocks, headers, offset = [], [], 0
    for name, values in arrays.items():
        data = np.asarray(values)
        if data.dtype == np.bool_:
            data = data.astype(np.uint8)
        if data.dtype not in _VTK_TYPES:
            data = data.astype(np.float32 if data.dtype.kind == "f" else np.int32)
        raw = np.ascontiguousarray(data.ravel(order="F")).astype(data.dtype.newbyteorder("<"))
        payload = raw.tobytes()
        headers.append(
            f'        <DataArray type="{_VTK_TYPES[data.dtype]}" Name={quoteattr(name)} '
            f'format="appended" offset="{offset}"/>'
        )
        block = struct.pack("<Q", len(payload)) + payload
        blocks.append(block)
        offset += len(block)
    text = (
        '<?xml version="1.0"?>\n'
        '<VTKFile type="ImageData" version="1.0" byte_order="LittleEndian" '
        'header_type="UInt64">\n'
        f'  <ImageData WholeExtent="{extent}" Origin="{_floats(origin)}" '
        f'Spacing="{_floats(spacing)}">\n'
        f'    <Piece Extent="{extent}">\n'
        "      <PointData>\n" + "\n".join(headers) + "\n      </PointData>\n"
        "    </Piece>\n  </ImageData>\n"
        '  <AppendedData encoding="raw">\n   _'
    )
    with open(path, "wb") as stream:
        stream.write(text.encode("ascii"))
        for block in blocks:
            stream.write(block)
        stream.write(b"\n  </AppendedData>\n</VTKFile>\n")
    return path


def _floats(values: Iterable[float]) -> str:
    return " ".join(f"{float(v):.9g}" for v in values)


def read_vti(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Read a file written by :func:`write_vti`: its arrays (x, y, z), origin and spacing (mm).
    (Any VTK reader reads it too; this one needs nothing beyond NumPy.)"""
    import re

    raw = Path(path).read_bytes()
    head, _, rest = raw.partition(b'<AppendedData encoding="raw">')
    start = rest.index(b"_") + 1
    text = head.decode("ascii")
    extent = [int(v) for v in re.search(r'WholeExtent="([^"]+)"', text).group(1).split()]  # type: ignore[union-attr]
    shape = tuple(extent[2 * a + 1] - extent[2 * a] + 1 for a in range(3))
    origin = np.array(re.search(r'Origin="([^"]+)"', text).group(1).split(), float)  # type: ignore[union-attr]
    spacing = np.array(re.search(r'Spacing="([^"]+)"', text).group(1).split(), float)  # type: ignore[union-attr]
    types = {v: k for k, v in _VTK_TYPES.items()}
    arrays = {}
    for kind, name, offset in re.findall(
        r'<DataArray type="(\w+)" Name="([^"]*)" format="appended" offset="(\d+)"', text
    ):
        at = start + int(offset)
        (size,) = struct.unpack("<Q", rest[at : at + 8])
        data = np.frombuffer(rest[at + 8 : at + 8 + size], types[kind].newbyteorder("<"))
        arrays[name] = data.reshape(shape, order="F")
    return arrays, origin, spacing


def _write_vti_series(
    ds: xr.Dataset, names: Sequence[str], affine: np.ndarray, folder: Path
) -> list[str]:
    files: list[str] = []
    groups: dict[tuple[str, int] | None, dict[str, np.ndarray]] = {}
    for name in names:
        var = ds[name]
        stack = [d for d in var.dims if d in _STACKED]
        if not stack:
            groups.setdefault(None, {})[name] = _volume(var)
            continue
        dim = stack[0]
        for n in range(ds.sizes[dim]):
            groups.setdefault((dim, n), {})[name] = _volume(var.isel({dim: n}))
    series = []
    for key, arrays in groups.items():
        if key is None:
            file = "static.vti"
        elif key[0] == "snapshot":
            file = f"snapshot_{key[1]:03d}.vti"
            series.append((float(ds["snapshot_day"].values[key[1]]), file))
        elif key[0] == "session":
            file = f"session_{key[1] + 1}.vti"
        else:
            file = f"scan_{key[1]}.vti"
        write_vti(folder / "vti" / file, arrays, affine)
        files.append(f"vti/{file}")
    if series:
        entries = "\n".join(
            f'    <DataSet timestep="{day:.9g}" part="0" file="{file}"/>' for day, file in series
        )
        (folder / "vti" / "snapshots.pvd").write_text(
            '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n  <Collection>\n'
            f"{entries}\n  </Collection>\n</VTKFile>\n",
            encoding="ascii",
        )
        files.append("vti/snapshots.pvd")
    return files


# --------------------------------------------------------------------------------------------
# Surface meshes (legacy VTK polygon data)
# --------------------------------------------------------------------------------------------


def write_vtk_mesh(path: str | os.PathLike[str], mesh: Surface, *, title: str = "") -> Path:
    """Write ``mesh`` (vertices in mm) as legacy VTK polygon data, binary, with ``SPACE=RAS`` in
    its header line (3D Slicer reads the coordinate system from it; without it, Slicer would take
    the points as LPS)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    points = np.asarray(mesh.vertices, ">f4")
    faces = np.asarray(mesh.faces, np.int64)
    cells = np.column_stack([np.full(len(faces), 3), faces]).astype(">i4")
    header = (
        "# vtk DataFile Version 3.0\n"
        f"{(title + ' SPACE=RAS').strip()}\n"
        "BINARY\nDATASET POLYDATA\n"
        f"POINTS {len(points)} float\n"
    ).encode("ascii")
    with open(path, "wb") as stream:
        stream.write(header)
        stream.write(points.tobytes())
        stream.write(f"\nPOLYGONS {len(faces)} {cells.size}\n".encode("ascii"))
        stream.write(cells.tobytes())
        stream.write(b"\n")
    return path
