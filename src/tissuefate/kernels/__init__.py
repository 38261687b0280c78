"""Compiled kernels (private).

This is the only package that imports numba. Each kernel takes contiguous arrays, scalars and
preallocated outputs, validates nothing, and has a NumPy reference implementation beside it that
the tests run on the same input. Callers in ``physics/`` and ``damage/`` coerce and check.
"""
