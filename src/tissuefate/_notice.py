"""The statement that every output, report and help text of tissuefate carries."""

__all__ = ["RESEARCH_USE"]

RESEARCH_USE = (
    "For research and teaching only, not for treating patients: tissuefate gives no "
    "patient-specific dosing advice."
)
