"""`Result` is defined in :mod:`tissuefate.io.result`; re-exported here, where a run makes it."""

from ..io.result import Result

__all__ = ["Result"]
