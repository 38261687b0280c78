"""Grid, coordinates, geometric shapes and the anatomy label map."""

from .anatomy import Anatomy, TumorShape, VesselShape, build_anatomy
from .grid import Grid
from .shapes import Cylinder, Ellipsoid, Shape, Sphere, point_weights, volume_fraction

__all__ = [
    "Anatomy",
    "Cylinder",
    "Ellipsoid",
    "Grid",
    "Shape",
    "Sphere",
    "TumorShape",
    "VesselShape",
    "build_anatomy",
    "point_weights",
    "volume_fraction",
]
