"""Models of the anatomy: tumours, capsules and large vessels drawn as shapes, or a segmented image.

Positions are in the grid's frame (relative to the grid centre) unless the anatomy comes from an
image whose ``positions`` are ``world``: then every position in the scenario (tumour centres,
vessel ends, device tips) is in the image's scanner coordinates (NIfTI RAS+, mm), and
:func:`tissuefate.grid.image.resolve_image` moves them into the grid's frame before any work.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, field_validator, model_validator

from tissuefate.scenario._base import (
    KeyedValueError,
    PositiveLength,
    PositiveVec3,
    PositiveVolumeRate,
    Vec3,
    Vec3Float,
    _Model,
    _Name,
    _optional_si,
    _si3,
)
from tissuefate.scenario.quantities import Volume, to_si

__all__ = [
    "IMAGE_ROLES",
    "Anatomy",
    "Capsule",
    "ImageAnatomy",
    "Tumor",
    "Vessel",
]

#: What a label or mask of a segmentation may be: the organ (``liver`` is a synonym of
#: ``organ``), the tumours (each connected component is one) and the large vessels.
IMAGE_ROLES = ("organ", "liver", "tumor", "vessel")
#: Default limit of the source voxels' anisotropy (longest over shortest edge): nearest-neighbour
#: resampling of labels turns slices thicker than this many in-plane pixels into steps that show
#: in the tumour's surface and so in the zones around it (an assumption, not a published limit).
MAX_ANISOTROPY = 5.0

_Label = Annotated[int, Strict(), Field(ge=1, le=65535)]


def _label_list(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


_Labels = Annotated[list[_Label], Field(min_length=1)]


class Capsule(_Model):
    """A fibrous capsule around a tumour: a shell of ``thickness`` just outside its surface, of
    the tissue preset ``preset``.

    Meant for hepatocellular carcinoma, which grows expansively and is often encapsulated; any
    tumour may have one. Its voxels start with the preset's ``collagen_fraction`` of collagen.
    The short form ``capsule: 1 mm`` means ``capsule: {thickness: 1 mm}``.
    """

    thickness: PositiveLength
    preset: _Name = "fibrous_capsule"

    @classmethod
    def _coerce_input(cls, data: Any) -> Any:
        return {"thickness": data} if isinstance(data, str) else data

    @property
    def thickness_m(self) -> float:
        """Thickness in m."""
        return to_si(self.thickness)


class Tumor(_Model):
    """A tumor: a sphere (``radius``) or axis-aligned ellipsoid (``semi_axes``) at ``center``,
    with a fibrous ``capsule`` or none."""

    name: _Name
    shape: Literal["sphere", "ellipsoid"] = "sphere"
    center: Vec3
    radius: PositiveLength | None = None
    semi_axes: PositiveVec3 | None = None
    preset: _Name = "tumor"
    capsule: Capsule | None = None

    @model_validator(mode="after")
    def _size_matches_shape(self) -> Tumor:
        if self.shape == "sphere":
            if self.semi_axes is not None:
                raise KeyedValueError(
                    "a sphere takes a radius; semi_axes are for shape: ellipsoid", "semi_axes"
                )
            if self.radius is None:
                raise KeyedValueError("a sphere needs a radius, e.g. '15 mm'", "radius")
        else:
            if self.radius is not None:
                raise KeyedValueError(
                    "an ellipsoid takes semi_axes [a, b, c], not a radius", "radius"
                )
            if self.semi_axes is None:
                raise KeyedValueError("an ellipsoid needs semi_axes [a, b, c]", "semi_axes")
        return self

    @property
    def center_m(self) -> Vec3Float:
        """Centre relative to the grid centre, in m."""
        return _si3(self.center)

    @property
    def radius_m(self) -> float | None:
        """Radius of a sphere in m (None for an ellipsoid)."""
        return _optional_si(self.radius)

    @property
    def semi_axes_m(self) -> Vec3Float:
        """Semi-axes along x, y, z in m (all equal to the radius for a sphere)."""
        if self.semi_axes is not None:
            return _si3(self.semi_axes)
        r = to_si(self.radius)  # type: ignore[arg-type]  # a sphere always has one
        return (r, r, r)


class Vessel(_Model):
    """A large vessel: a straight cylinder of ``radius`` from ``start`` to ``end``.

    Without ``flow`` its voxels are held at body temperature (the wall conducts like tissue). With
    ``flow`` (a volume flow such as ``120 mL/min``) blood enters at ``start`` at body temperature,
    takes up heat through a convective wall (a Nusselt correlation) and warms along the vessel;
    heat closes it (its blood stops) once its wall has had the dose at which the tissue's
    microvessels stop, unless ``occludes`` is false (a glass tube, a stent graft).
    """

    name: _Name
    start: Vec3
    end: Vec3
    radius: PositiveLength
    flow: PositiveVolumeRate | None = None
    occludes: Annotated[bool, Strict()] = True

    @model_validator(mode="after")
    def _has_length(self) -> Vessel:
        if self.start_m == self.end_m:
            raise KeyedValueError(f"vessel {self.name} ends where it starts", "end")
        return self

    @property
    def start_m(self) -> Vec3Float:
        """Start point relative to the grid centre, in m."""
        return _si3(self.start)

    @property
    def end_m(self) -> Vec3Float:
        """End point relative to the grid centre, in m."""
        return _si3(self.end)

    @property
    def radius_m(self) -> float:
        """Radius in m."""
        return to_si(self.radius)

    @property
    def flow_m3_s(self) -> float | None:
        """Volume flow in m³/s (None: the vessel is held at body temperature)."""
        return _optional_si(self.flow)


def _unique_names(items: list[Any], kind: str) -> list[Any]:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.name in seen:
            raise KeyedValueError(
                f"{kind} name {item.name!r} is already used by entry {seen[item.name]}",
                index,
                "name",
            )
        seen[item.name] = index
    return items


class ImageAnatomy(_Model):
    """Anatomy from a segmented CT or MR image in NIfTI format (``.nii`` or ``.nii.gz``).

    Either one label map, ``path`` with ``labels: {liver: 1, tumor: 2, vessel: 3}`` (a role may
    take several labels, e.g. ``vessel: [3, 4]``), or one binary mask per role,
    ``masks: {liver: liver.nii.gz, tumor: tumor.nii.gz, vessel: vessels.nii.gz}``. Relative
    paths are read from the scenario file's folder.

    The image is resampled onto the scenario's isotropic grid, aligned with the scanner axes
    (x, y, z = right, anterior, superior): the organ and vessels by majority over sub-voxel
    samples (nearest neighbour where the grid is finer than the image), the tumours as partial
    volume. Each connected component of the tumour mask is one tumour, ``tumor_1`` the largest,
    of preset ``tumor_preset`` unless ``tumor_presets`` names another for it, each with a fibrous
    ``capsule`` when one is given (the voxels outside it within the capsule's thickness of its
    surface, as for a drawn tumour). Vessel voxels are
    held at blood temperature. Outside the organ the tissue is the scenario's ``tissue`` too
    (the organ mask is kept for the checks, the exports and the pictures).

    The grid is the tumours' bounding box plus ``margin`` on every side, or ``grid.size`` centred
    on them; ``center`` (scanner coordinates) fixes the grid centre instead. ``positions: world``
    (the default) reads every position of the scenario in scanner coordinates (mm);
    ``positions: grid`` relative to the grid centre.
    """

    path: str | None = None
    labels: dict[Literal["organ", "liver", "tumor", "vessel"], _Labels] = Field(
        default_factory=dict
    )
    masks: dict[Literal["organ", "liver", "tumor", "vessel"], _Name] = Field(default_factory=dict)
    tumor_preset: _Name = "tumor"
    tumor_presets: dict[_Name, _Name] = Field(default_factory=dict)
    capsule: Capsule | None = None
    margin: PositiveLength = "20 mm"  # type: ignore[assignment]
    positions: Literal["world", "grid"] = "world"
    center: Vec3 | None = None
    max_anisotropy: Annotated[float, Field(ge=1.0)] = MAX_ANISOTROPY
    min_tumor_volume: Volume = "0 mL"  # type: ignore[assignment]

    @field_validator("labels", mode="before")
    @classmethod
    def _listed(cls, labels: Any) -> Any:
        if isinstance(labels, dict):
            return {role: _label_list(value) for role, value in labels.items()}
        return labels

    @model_validator(mode="after")
    def _one_source(self) -> ImageAnatomy:
        if self.masks:
            if self.path is not None or self.labels:
                raise KeyedValueError(
                    "give either path with labels (one label map) or masks (one file per role), "
                    "not both",
                    "masks",
                )
            roles = set(self.masks)
            key = "masks"
        else:
            if self.path is None:
                raise KeyedValueError(
                    "give path (a NIfTI label map) with labels, or masks: {tumor: FILE, ...}",
                    "path",
                )
            if not self.labels:
                raise KeyedValueError(
                    "a label map needs labels, e.g. {liver: 1, tumor: 2, vessel: 3}", "labels"
                )
            roles = set(self.labels)
            key = "labels"
            seen: dict[int, str] = {}
            for role, values in self.labels.items():
                for value in values:
                    if value in seen:
                        raise KeyedValueError(
                            f"label {value} is given to both {seen[value]} and {role}", key, role
                        )
                    seen[value] = role
        if {"organ", "liver"} <= roles:
            raise KeyedValueError("liver and organ name the same role; give one", key, "organ")
        if "tumor" not in roles:
            raise KeyedValueError(
                "the image needs a tumor role: the grid is cropped around the tumours", key
            )
        if self.min_tumor_volume.magnitude < 0:
            raise KeyedValueError("must not be negative", "min_tumor_volume")
        return self

    def anchored(self, folder: str | os.PathLike[str]) -> ImageAnatomy:
        """This image with its relative paths (``~`` expanded) made absolute from ``folder``."""
        base = Path(folder).resolve()

        def absolute(name: str) -> str:
            path = Path(name).expanduser()
            return str(path if path.is_absolute() else base / path)

        updates: dict[str, Any] = {}
        if self.path is not None:
            updates["path"] = absolute(self.path)
        if self.masks:
            updates["masks"] = {role: absolute(name) for role, name in self.masks.items()}
        return self.model_copy(update=updates)

    @property
    def placed(self) -> bool:
        """Whether the grid's place on the image is decided and the scenario's positions are
        relative to it (:func:`tissuefate.grid.image.resolve_image` has run)."""
        return self.center is not None and self.positions == "grid"

    @property
    def organ_role(self) -> str | None:
        """The key naming the organ (``liver`` or ``organ``), None when the image has none."""
        roles = self.masks or self.labels
        return next((r for r in ("liver", "organ") if r in roles), None)

    @property
    def margin_m(self) -> float:
        """Margin of the crop around the tumours in m."""
        return to_si(self.margin)

    @property
    def center_m(self) -> Vec3Float | None:
        """Grid centre in scanner coordinates, m (None: the tumours' bounding-box centre)."""
        return None if self.center is None else _si3(self.center)

    @property
    def min_tumor_volume_m3(self) -> float:
        """Smallest connected component kept as a tumour, m³."""
        return to_si(self.min_tumor_volume)


class Anatomy(_Model):
    """What is in the grid besides the tissue: tumors and large vessels drawn as shapes, and a
    segmented ``image`` (its tumours and vessels come on top of any drawn ones)."""

    tumors: list[Tumor] = Field(default_factory=list)
    vessels: list[Vessel] = Field(default_factory=list)
    image: ImageAnatomy | None = None

    @field_validator("tumors")
    @classmethod
    def _unique_tumors(cls, tumors: list[Tumor]) -> list[Tumor]:
        return _unique_names(tumors, "tumor")

    @field_validator("vessels")
    @classmethod
    def _unique_vessels(cls, vessels: list[Vessel]) -> list[Vessel]:
        return _unique_names(vessels, "vessel")
