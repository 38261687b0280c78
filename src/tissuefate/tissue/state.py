"""`TissueState`: what each voxel is made of, as fractions that the models move between pools."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from ..grid.anatomy import Anatomy

__all__ = ["FIELD_INFO", "MECHANICS_FIELDS", "TissueState"]

# name -> (units, description); the order is the order of outputs.
FIELD_INFO: dict[str, tuple[str, str]] = {
    "tumor": ("1", "viable tumour cells, fraction of voxel capacity"),
    "normal": ("1", "viable parenchymal (normal) cells, fraction of voxel capacity"),
    "coagulated": ("1", "heat-fixed coagulative necrosis: architecture kept, cleared slowly"),
    "debris": (
        "1",
        "loose dead tissue (lysed, chemically, ischaemically or moderately heat-killed): clearable",
    ),
    "ecm": ("1", "integrity of the extracellular matrix scaffold"),
    "vessels": ("1", "microvascular density relative to the healthy tissue of the voxel"),
    "occlusion": ("1", "reversible vessel occlusion (haemostasis)"),
    "inflammation": ("1", "inflammatory activity, dimensionless, >= 0"),
    "myofibroblasts": ("1", "activated fibroblasts, fraction of voxel capacity"),
    "collagen": ("1", "deposited collagen, fraction of voxel capacity; scar where it dominates"),
    "water": ("1", "relative water content: 1 normal, > 1 oedema, < 1 dehydration"),
    "injury": ("1", "injury signal released by killed cells, scaled by immunogenicity, >= 0"),
    "phagocytes": ("1", "phagocyte (macrophage) density relative to a fully recruited voxel"),
    "displacement_x": (
        "mm",
        "x displacement of the tissue now in the voxel since the course began",
    ),
    "displacement_y": (
        "mm",
        "y displacement of the tissue now in the voxel since the course began",
    ),
    "displacement_z": (
        "mm",
        "z displacement of the tissue now in the voxel since the course began",
    ),
    "water_settled": ("1", "relative water content the tissue's volume has taken up (mechanics)"),
}
MECHANICS_FIELDS = ("displacement_x", "displacement_y", "displacement_z", "water_settled")
"""Fields only the mechanics of ``tissuefate.biology.mechanics`` changes."""


@dataclass
class TissueState:
    """Per-voxel tissue state; every field is float32 of the grid's shape.

    Fractions of voxel capacity (``tumor``, ``normal``, ``coagulated``, ``debris``,
    ``myofibroblasts``, ``collagen``) lie in [0, 1] and their sum (the occupied fraction) never
    exceeds 1. ``ecm``, ``vessels``, ``occlusion``, ``phagocytes`` lie in [0, 1], except
    ``vessels``, which may exceed 1 in tumour; ``inflammation`` and ``injury`` are >= 0;
    ``water`` is relative to normal (1).
    """

    tumor: np.ndarray
    normal: np.ndarray
    coagulated: np.ndarray
    debris: np.ndarray
    ecm: np.ndarray
    vessels: np.ndarray
    occlusion: np.ndarray
    inflammation: np.ndarray
    myofibroblasts: np.ndarray
    collagen: np.ndarray
    water: np.ndarray
    injury: np.ndarray
    phagocytes: np.ndarray
    displacement_x: np.ndarray
    displacement_y: np.ndarray
    displacement_z: np.ndarray
    water_settled: np.ndarray

    @classmethod
    def initial(cls, anatomy: Anatomy) -> TissueState:
        """Untreated tissue: tumour where the anatomy has it, parenchyma elsewhere.

        A tumour capsule holds the collagen of its material (``anatomy.collagen``), as much of it
        as the voxel's tumour leaves room for; parenchyma fills the rest. Voxels of large vessels
        hold blood: no cells, no matrix, no microvessels.
        """
        shape = anatomy.grid.shape
        tissue = (~anatomy.vessel).astype(np.float32)
        tumor = anatomy.tumor_fraction.astype(np.float32, copy=True)
        zeros = [np.zeros(shape, np.float32) for _ in range(11)]
        collagen = zeros[5]  # a capsule's, where its voxel's tumour leaves room; none elsewhere
        np.minimum(anatomy.collagen, tissue - tumor, out=collagen)
        return cls(
            tumor=tumor,
            normal=tissue - tumor - collagen,
            coagulated=zeros[0],
            debris=zeros[1],
            ecm=tissue.copy(),
            vessels=tissue.copy(),
            occlusion=zeros[2],
            inflammation=zeros[3],
            myofibroblasts=zeros[4],
            collagen=zeros[5],
            water=tissue.copy(),
            injury=zeros[6],
            phagocytes=zeros[7],
            displacement_x=zeros[8],
            displacement_y=zeros[9],
            displacement_z=zeros[10],
            water_settled=tissue.copy(),
        )

    @staticmethod
    def field_names() -> tuple[str, ...]:
        """Names of the state fields in output order."""
        return tuple(FIELD_INFO)

    def copy(self) -> TissueState:
        """A deep copy."""
        return replace(self, **{f.name: getattr(self, f.name).copy() for f in fields(self)})

    def as_dict(self) -> dict[str, np.ndarray]:
        """The fields by name (views, not copies)."""
        return {name: getattr(self, name) for name in FIELD_INFO}

    @property
    def shape(self) -> tuple[int, int, int]:
        """Grid shape."""
        return self.tumor.shape

    def occupied(self) -> np.ndarray:
        """Occupied fraction of each voxel (cells, dead tissue, fibroblasts and collagen)."""
        return (
            self.tumor
            + self.normal
            + self.coagulated
            + self.debris
            + self.myofibroblasts
            + self.collagen
        )
