"""Damage by an injected agent: kill curves, vessels, matrix and water.

All damage is Ω (killed fraction 1 − e^−Ω), accumulated over the session and applied to the
tissue state *from the state at the session start*, so applying it again after more exposure is
exact, not incremental:

- chemical Ω of the cells: exposure ``∫ ln(100)/t_L(c) dt`` with
  ``t_L = t_ref (c_ref/c)^n`` (the agent's kill curve, 99 % dead after ``t_L`` at constant
  ``c``), plus oxidation ``ln(100)·(f − onset)/(lethal − onset)`` from the consumed fraction
  ``f`` of the demand; tumour cells take it times ``tumor_sensitivity`` (H7);
- vessels: Ω_v = ``vascular_sensitivity`` × chemical Ω, times ``tumor_vessel_preference`` in
  tumour (H6, weighted by the tumour fraction); flow follows the damage over
  ``vascular_response_time``. Of the vessels lost, the share
  ``reversible_vascular_fraction`` (in tumour ``tumor_reversible_vascular_fraction`` if given,
  weighted by the tumour fraction) is occlusion that recovers with ``occlusion_recovery_time``
  (H3), the rest thrombosis;
- killed cells become ``coagulated`` (``fixation``) or ``debris``; matrix Ω =
  ``ecm_sensitivity`` × chemical Ω of normal cells;
- water relaxes towards ``1 − dehydration · k`` over ``water_shift_time``, ``k`` the fraction of
  the voxel's cells the agent killed (H8: dead cells lose their water and the tissue shrinks; a
  negative dehydration swells it).

The session does not kill by ischaemia: the vessel loss and occlusion it leaves are what starve
cells afterwards, and that death (H6's secondary death) is integrated by the repair model
(:mod:`tissuefate.biology.repair`, ``ischemic_death_time`` and ``ischemia_threshold`` of the
repair parameters) over the hours and days it takes, whatever the session's ``observe`` time.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from ..kernels import agent as ka
from ..tissue.state import TissueState
from .cold import OMEGA_CAP

__all__ = ["AgentDamage", "AgentKillParameters"]

CELLS_PRESENT = 1e-3
"""Viable-cell fraction below which a voxel has no cells whose kill is measured (the remnant of
an earlier ablation would otherwise give a noisy Ω)."""
LETHAL_OMEGA = math.log(100.0)
"""Ω at which a kill curve's "all cells dead" is read: 99 % killed."""


FIELDS = ("tumor", "normal", "coagulated", "debris", "vessels", "occlusion", "ecm", "water")
"""The state fields an agent changes, in the order of the kernel's stacks."""


class AgentKillParameters(Protocol):
    """The properties of an agent that its damage depends on (SI units).

    :class:`tissuefate.modalities.agent.Agent` has them; the preset lives with the injection
    modality, above ``damage``, so it is described here by what is read, not imported.
    """

    @property
    def kill_reference_concentration(self) -> float: ...  # mol/m³
    @property
    def kill_reference_time(self) -> float: ...  # s
    @property
    def kill_exponent(self) -> float: ...
    @property
    def tumor_sensitivity(self) -> float: ...
    @property
    def oxidation_kill_onset(self) -> float | None: ...
    @property
    def oxidation_kill_lethal(self) -> float | None: ...
    @property
    def vascular_sensitivity(self) -> float: ...
    @property
    def tumor_vessel_preference(self) -> float: ...
    @property
    def vascular_response_time(self) -> float: ...  # s
    @property
    def reversible_vascular_fraction(self) -> float: ...
    @property
    def tumor_reversible_vascular_fraction(self) -> float | None: ...
    @property
    def occlusion_recovery_time(self) -> float: ...  # s
    @property
    def fixation(self) -> float: ...
    @property
    def ecm_sensitivity(self) -> float: ...
    @property
    def dehydration(self) -> float: ...
    @property
    def water_shift_time(self) -> float: ...  # s


class AgentDamage:
    """Ω fields of one injection session and their application to the tissue state.

    Parameters
    ----------
    agent
        The resolved agent (a :class:`~tissuefate.modalities.agent.Agent`).
    state
        The tissue state at the session start (copied).
    impl
        ``"compiled"`` or ``"numpy"``.
    """

    def __init__(
        self,
        agent: AgentKillParameters,
        state: TissueState,
        impl: str = "compiled",
    ) -> None:
        self.agent = agent
        self.impl = impl
        self._start = np.stack([getattr(state, f) for f in FIELDS]).astype(np.float32)
        # exposure Ω, last exposure rate, oxidation Ω, vessels lost, occluded
        self.acc = np.zeros((5, *state.shape))
        tumor0 = state.tumor.astype(np.float64)
        cells0 = tumor0 + state.normal
        with np.errstate(divide="ignore", invalid="ignore"):
            tumor_share = np.where(cells0 > 0, tumor0 / cells0, 0.0)
        self._vessel_gain = agent.vascular_sensitivity * (
            1.0 + (agent.tumor_vessel_preference - 1.0) * tumor_share
        )
        normal_rev = agent.reversible_vascular_fraction
        tumor_rev = agent.tumor_reversible_vascular_fraction
        tumor_rev = normal_rev if tumor_rev is None else tumor_rev
        self._reversible = normal_rev + (tumor_rev - normal_rev) * tumor_share

    def parameters(self, dt: float) -> np.ndarray:
        """The kernel's scalar parameters for a step of ``dt`` s (see ``ka.PARAMETERS``)."""
        a = self.agent
        onset, lethal = a.oxidation_kill_onset, a.oxidation_kill_lethal
        values = {
            "exposure_coefficient": LETHAL_OMEGA / a.kill_reference_time,
            "kill_reference_concentration": a.kill_reference_concentration,
            "kill_exponent": a.kill_exponent,
            "oxidation_onset": 0.0 if onset is None else onset,
            "oxidation_span": 0.0 if onset is None or lethal is None else lethal - onset,
            "tumor_sensitivity": a.tumor_sensitivity,
            "vessel_follow": -math.expm1(-dt / a.vascular_response_time),
            "occlusion_decay": math.exp(-dt / a.occlusion_recovery_time),
            "dehydration": a.dehydration,
            "water_relax": -math.expm1(-dt / a.water_shift_time),
            "fixation": a.fixation,
            "ecm_sensitivity": a.ecm_sensitivity,
            "dt": dt,
            "omega_cap": OMEGA_CAP,
            "lethal_omega": LETHAL_OMEGA,
        }
        return np.array([values[name] for name in ka.PARAMETERS])

    def advance(
        self,
        dt: float,
        block: tuple[slice, slice, slice],
        c: np.ndarray,
        consumed_fraction: np.ndarray,
        state: TissueState,
    ) -> None:
        """Add ``dt`` s over ``block`` and update ``state`` there.

        ``c`` (mol/m³, at the end of the step; the exposure rate is averaged with the previous
        step's) and ``consumed_fraction`` are the block's values (float64).
        """
        step = ka.agent_damage_step if self.impl == "compiled" else ka.agent_damage_step_numpy
        fields = [getattr(state, f) for f in FIELDS]
        out = np.stack([f[block] for f in fields])
        acc = self.acc[(slice(None), *block)]
        start = self._start[(slice(None), *block)]
        gain, rev = self._vessel_gain[block], self._reversible[block]
        step(c, consumed_fraction, gain, rev, acc, start, out, self.parameters(dt))
        for f, new in zip(fields, out, strict=True):
            f[block] = new

    def initial(self, name: str) -> np.ndarray:
        """The state field ``name`` (one of ``FIELDS``) at the session start (float32)."""
        return self._start[FIELDS.index(name)]

    @property
    def chemical_omega(self) -> np.ndarray:
        """Ω of normal cells from the agent (exposure and oxidation), float64."""
        return self.acc[0] + self.acc[2]

    def damage(
        self, state: TissueState, block: tuple[slice, slice, slice] | None = None
    ) -> np.ndarray:
        """Ω of the cells present at the session start, ``−ln(cells now / cells then)``
        (float32; 0 where there were almost none, ``CELLS_PRESENT``), over ``block`` or the
        whole grid."""
        blk = block or (slice(None),) * 3
        before = self.initial("tumor")[blk].astype(np.float64) + self.initial("normal")[blk]
        after = state.tumor[blk].astype(np.float64) + state.normal[blk]
        with np.errstate(divide="ignore", invalid="ignore"):
            omega = np.where(before > CELLS_PRESENT, -np.log(np.maximum(after, 0.0) / before), 0.0)
        return np.clip(np.nan_to_num(omega, posinf=OMEGA_CAP), 0.0, OMEGA_CAP).astype(np.float32)
