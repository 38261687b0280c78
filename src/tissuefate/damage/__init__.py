"""Damage models: dose to kill, and the state changes that follow."""

from .thermal import GAS_CONSTANT, ThermalDose, apply_thermal_kill, arrhenius_time

__all__ = ["GAS_CONSTANT", "ThermalDose", "apply_thermal_kill", "arrhenius_time"]
