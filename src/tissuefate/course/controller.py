"""Run a strategy of a scenario as a course: sessions, repair and scans on one timeline.

The loop is not for editing. A :class:`Course` advances a
:class:`~tissuefate.course.state.CourseState` through the strategy's timeline: explicit sessions,
the policy's decisions (scan, then treat or stop), periodic scans, snapshots and the end of
follow-up. Repair runs on an absolute step grid,
so a pause (a snapshot, a scan, a checkpoint) never changes a result. Observers (progress,
checkpoints) watch from outside; the whole state can be saved and resumed, or branched into
another strategy.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .._version import __version__
from ..biology.repair import RepairClock, RepairModel
from ..errors import NumericalError, ScenarioError
from ..io.output import CHECKPOINTS
from ..io.result import Result
from ..kernels._jit import num_threads
from ..modalities import RUNNERS, SessionContext
from ..modalities.agent import Agent
from ..scenario.io import dump_scenario
from ..scenario.models import Scenario
from ..tissue.state import TissueState
from . import policy as pol
from .hypotheses import hypothesis_table
from .imaging import scan as take_scan
from .observers import _EPS_D, Checkpointer, Observer, Progress, ProgressObserver, latest_checkpoint
from .planner import PlanningContext, plan_ablation
from .prepare import (
    Prepared,
    build_tissue,
    check_agents,
    check_repair,
    prepare,
    thermal_options,
)
from .state import PARTS, CourseState, PolicyRun, load_course_state
from .summary import (
    DAY,
    PROGRESSION_VOLUME_RATIO,
    RESEARCH_USE,
    anatomy_summary,
    describe,
    fields_dataset,
    local_progression,
    movement,
    repair_inputs,
    repair_summary,
    session_summary,
    volumes,
)
from .treatability import course_treatability, session_treatability, treatability_maps

__all__ = [
    "CHECKPOINTS",
    "PROGRESSION_VOLUME_RATIO",
    "RESEARCH_USE",
    "Checkpointer",
    "Course",
    "Observer",
    "Prepared",
    "ProgressObserver",
    "build_tissue",
    "check_agents",
    "check_repair",
    "compare",
    "prepare",
    "simulate",
]

logger = logging.getLogger(__name__)

TUMOR_FREE_ML = 1e-3
"""Viable tumour below this volume (1 mm³) counts as none (an assumption: a cell cluster)."""
BEYOND_GRID_NOTE = 0.05
"""Share of a session's absorbed power falling beyond the grid above which the summary notes it."""


def check_finite(state: TissueState, day: float, step: int) -> None:
    """Raise :class:`NumericalError` naming the first state field and voxel that is not finite."""
    for fname, arr in state.as_dict().items():
        if not np.isfinite(arr).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise NumericalError(
                f"repair produced a non-finite value on day {day:.2f}",
                step=step,
                field=fname,
                index=idx,
            )


# -- the course -----------------------------------------------------------------------------------
class Course:
    """The controller of one strategy's course.

    Parameters
    ----------
    prepared
        The checked and built strategy (:func:`prepare`).
    observers
        Watchers of the course (progress, checkpoints).
    """

    def __init__(self, prepared: Prepared, observers: Sequence[Observer] = ()) -> None:
        self.p = prepared
        self.scenario = prepared.scenario
        self.name = prepared.strategy
        self.strat = self.scenario.strategies[prepared.strategy]
        self.grid, self.tissue, self.anatomy = prepared.grid, prepared.tissue, prepared.anatomy
        self.repair = (
            None
            if prepared.repair is None
            else RepairModel(
                self.grid,
                self.anatomy,
                self.tissue,
                prepared.repair,
                law=self.scenario.repair.growth_law,  # type: ignore[arg-type]
                impl=prepared.impl,  # type: ignore[arg-type]
                mechanics=self.scenario.repair.mechanics.enabled,
            )
        )
        self.observers = list(observers)
        self.options = thermal_options(self.scenario)
        self.voxel_ml = self.grid.voxel_volume * 1e6
        self.imaging = self.scenario.imaging
        self.policy = self.strat.policy
        self.untreated = TissueState.initial(self.anatomy)
        self.tissue_mask = ~self.anatomy.vessel
        self._labelled: tuple[float, np.ndarray] = (-1.0, np.zeros(0, np.int32))
        """The day and lesion labels of the last scan this process took."""

    # -- identity of what a checkpoint belongs to --------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this course belongs to: the scenario (resolved YAML), the
        strategy, and the parts a branch must share (grid, tissue, anatomy, repair)."""
        data = self.scenario.model_dump(mode="json")
        return {
            "scenario": dump_scenario(self.scenario),
            "scenario_name": self.scenario.name,
            "strategy": self.name,
            "version": __version__,
            "world": {k: data.get(k) for k in ("grid", "tissue", "anatomy", "repair")},
        }

    # -- start, resume, branch ---------------------------------------------------------------------
    def start(self) -> CourseState:
        """The state before treatment (day 0), with its baseline row, snapshot and scan."""
        tissue = TissueState.initial(self.anatomy)
        state = CourseState(
            strategy=self.name,
            day=0.0,
            tissue=tissue,
            normal0=tissue.normal.copy(),
            clock=None if self.repair is None else RepairClock(self.scenario.repair.step_s),
            rng=np.random.default_rng(self.scenario.seed),
            policy=None if self.policy is None else PolicyRun(next_day=self.policy.first_day_d),
            next_checkpoint_day=self.scenario.outputs.checkpoint_every_d,
        )
        state.rows.append({"day": 0.0, "event": "baseline", **self._volumes(state)})
        state.snapshots.append(("before treatment", 0.0, state.stash("snapshot", tissue.as_dict())))
        self._scan(state, "baseline")
        return state

    def branch(self, state: CourseState, identity: dict[str, Any], source: str) -> CourseState:
        """Continue ``state`` (read from a checkpoint) with this course's strategy.

        The same strategy goes on exactly where it was. Another strategy keeps the history and
        takes its explicit sessions and policy decisions that fall after the checkpoint's day
        (on that day too, when the checkpoint was not taken right after a session).

        Raises
        ------
        ScenarioError
            When the checkpoint belongs to another grid, tissue, anatomy or repair model.
        """
        mine = self.identity()
        if identity.get("world") != mine["world"]:
            differ = [k for k in mine["world"] if identity["world"].get(k) != mine["world"][k]]
            raise ScenarioError(
                "the checkpoint belongs to another scenario: its "
                + ", ".join(differ)
                + " differ from this scenario's",
                key="--from",
                source=source,
            )
        if identity.get("strategy") == self.name and identity.get("scenario") == mine["scenario"]:
            return state
        after_session = bool(state.sessions) and abs(state.sessions[-1]["day"] - state.day) < 1e-9

        def later(day: float) -> bool:
            return day > state.day + _EPS_D or (not after_session and day > state.day - _EPS_D)

        state.strategy = self.name
        state.next_session = next(
            (i for i, s in enumerate(self.strat.sessions) if later(s.day)),
            len(self.strat.sessions),
        )
        state.policy = None
        if self.policy is not None:
            day = self.policy.first_day_d
            step = self.policy.every_d
            while not later(day):
                day += step
            state.policy = PolicyRun(next_day=day)
        return state

    # -- timeline ----------------------------------------------------------------------------------
    def _next_session_day(self, state: CourseState) -> float | None:
        if state.next_session < len(self.strat.sessions):
            return self.strat.sessions[state.next_session].day
        return None

    def _next_decision_day(self, state: CourseState) -> float | None:
        if state.policy is None or state.policy.next_day is None:
            return None
        if state.next_session < len(self.strat.sessions):
            return None  # the explicit sessions come first
        return state.policy.next_day

    def end_day(self, state: CourseState) -> float | None:
        """Day the course ends, once no session can come any more (else None)."""
        if self._next_session_day(state) is not None or self._next_decision_day(state) is not None:
            return None
        last = state.last_session_day if state.last_session_day is not None else 0.0
        end = last + self.scenario.follow_up_d
        return max(end, state.day) if self.repair is not None else max(last, state.day)

    def expected_sessions(self, state: CourseState) -> int:
        """Sessions this course is expected to give (the policy's maximum for a policy)."""
        planned = len(self.strat.sessions)
        if self.policy is not None:
            planned += self.policy.max_sessions
        return max(planned, len(state.sessions))

    def expected_end(self, state: CourseState) -> float:
        """An estimate of the end day, for progress."""
        end = self.end_day(state)
        if end is not None:
            return end
        last = max((s.day for s in self.strat.sessions), default=0.0)
        if self.policy is not None and state.policy is not None:
            remaining = self.policy.max_sessions - state.policy.sessions_used
            start = state.policy.next_day if state.policy.next_day is not None else last
            last = max(last, start + max(0, remaining - 1) * self.policy.every_d)
        return last + self.scenario.follow_up_d

    def run(self, state: CourseState) -> CourseState:
        """Advance ``state`` to the end of the course (in place) and return it."""
        began = time.perf_counter()
        try:
            while True:
                session_day = self._next_session_day(state)
                decision_day = self._next_decision_day(state)
                end = self.end_day(state)
                until = min(d for d in (session_day, decision_day, end) if d is not None)
                event = until if end is None or until < end - _EPS_D else None
                self._advance(state, until, event)
                if session_day is not None and session_day <= until + _EPS_D:
                    session = self.strat.sessions[state.next_session]
                    state.next_session += 1
                    self._session(state, session, self.p.agents.get(state.next_session - 1))
                elif decision_day is not None and decision_day <= until + _EPS_D:
                    self._decide(state)
                else:
                    break
                self._snapshot_if_untreated(state)
            measure = self.scenario.outputs.treatability
            if measure and state.sessions and state.final_treatability is None:
                standard = self._standard_session(state)
                if standard is not None:
                    state.final_treatability = self._final_treatability(state, *standard)
        finally:
            state.wall_time_s += time.perf_counter() - began
        for obs in self.observers:
            obs.finished(self, state)
        return state

    def _standard_session(self, state: CourseState) -> tuple[Any, Agent | None] | None:
        """This strategy's first session, given again today: its first explicit session, or
        the first session its policy planned (same sites or devices); None if it has neither."""
        if self.strat.sessions:
            return self.strat.sessions[0].model_copy(update={"day": state.day}), self.p.agents.get(
                0
            )
        policy = self.policy
        planned = next((s for s in state.sessions if s["planned_by_policy"]), None)
        if policy is None or planned is None or planned["modality"] != policy.session.modality:
            return None
        return self._replan(planned, state.day), self.p.agents.get(-1)

    def _final_treatability(
        self, state: CourseState, session: Any, agent: Agent | None
    ) -> dict[str, Any]:
        """``session`` on a copy of today's tissue and on untreated tissue with today's tumour
        (:mod:`tissuefate.course.treatability`)."""
        copy = state.tissue.copy()
        ctx = SessionContext(
            self.grid, self.anatomy, self.tissue, copy, self.options, self.p.impl, None, agent
        )
        res = RUNNERS[session.modality](ctx, session, "treatability")
        return session_treatability(ctx, session, state.tissue, res, 1)

    def _replan(self, first: dict[str, Any], day: float) -> Any:
        """The session a policy planned first (its recorded sites or devices), on ``day``."""
        policy = self.policy
        if policy is None:
            raise RuntimeError("a planned session in a strategy without a policy")
        plan = first["planned"]
        if policy.session.modality == "injection":
            return pol.injection_session(policy, plan["sites"], day)
        devices = [
            {"tip": [f"{c!r} mm" for c in d["tip_mm"]], "direction": list(d["direction"])}
            for d in plan["devices"]
        ]
        fills: dict[str, Any] = {policy.session.device_key: devices}
        if plan.get("duration_s") is not None:
            fills["duration"] = f"{plan['duration_s']!r} s"
        if plan.get("pairs") is not None:
            fills["pairs"] = [
                {"anode": p["anode"], "cathode": p["cathode"], "voltage": f"{p['voltage']!r} V"}
                for p in plan["pairs"]
            ]
        return policy.session.instantiate(day, **fills)

    # -- repair between events ---------------------------------------------------------------------
    def _advance(self, state: CourseState, until: float, event: float | None = None) -> None:
        """Repair (or, without repair, jump) from ``state.day`` to ``until``, taking the
        snapshots and scans that fall on the way at the first step end on or after their day.

        ``event`` is the day of a session or decision that ends this interval: a snapshot
        wanted that day waits for it (a session's "after" snapshot covers it)."""
        if until <= state.day + _EPS_D:
            return
        clock = state.clock
        if self.repair is None or clock is None:
            for day in [*self._scan_days(state, until), until]:
                prev, state.day = state.day, day
                self._observe(state, prev, event)
            return
        checked = math.floor(state.day)
        began = time.perf_counter()
        for t in self.repair.run(
            state.tissue,
            clock,
            until * DAY,
            occlusion_recovery_time=state.recovery_s,
            tracers=(state.normal0,),  # parenchyma pushed aside is not lost
        ):
            now = t / DAY
            if abs(now - until) < 1e-9:
                now = until
            prev, state.day = state.day, now
            state.rows.append({"day": now, "event": "repair", **self._volumes(state)})
            if math.floor(now) > checked or now >= until:  # once a day, and at the end
                check_finite(state.tissue, now, clock.steps)
                checked = math.floor(now)
            state.repair_wall_s += time.perf_counter() - began
            self._observe(state, prev, event)
            began = time.perf_counter()

    def _snapshot_if_untreated(self, state: CourseState) -> None:
        """After a decision that gave no session: the snapshot wanted today, if any."""
        if self.repair is None or any(abs(s["day"] - state.day) < _EPS_D for s in state.sessions):
            return
        if any(abs(d - state.day) < _EPS_D for _, d, _ in state.snapshots):
            return
        if any(abs(d - state.day) < _EPS_D for d in self.scenario.outputs.snapshots_d):
            snap = state.stash("snapshot", state.tissue.as_dict())
            state.snapshots.append((f"day {state.day:g}", state.day, snap))

    def _scan_days(self, state: CourseState, until: float) -> list[float]:
        return [d for d in self._periodic_scans(until) if state.day + _EPS_D < d < until - _EPS_D]

    def _periodic_scans(self, until: float) -> list[float]:
        days = [d for d in self.imaging.days_d if d > 0]
        every = self.imaging.every_d
        if every is not None:
            days += [k * every for k in range(1, int(until / every + 1e-9) + 1)]
        return sorted(set(days))

    def _observe(self, state: CourseState, prev: float, event: float | None = None) -> None:
        """At a step end (the state went from day ``prev`` to ``state.day``): the snapshots and
        periodic scans due in that time, then the observers. A snapshot wanted on the day of
        ``event`` waits for it."""
        day = state.day

        def due(want: float) -> bool:
            return prev + _EPS_D < want <= day + _EPS_D

        if self.repair is not None:
            wanted = [d for d in self.scenario.outputs.snapshots_d if due(d)]
            if event is not None:
                wanted = [d for d in wanted if abs(d - event) > _EPS_D]
            if wanted:
                snap = state.stash("snapshot", state.tissue.as_dict())
                state.snapshots.append((f"day {day:g}", day, snap))
        if any(due(d) for d in self._periodic_scans(day + _EPS_D)):
            self._scan(state, "follow-up")
        for obs in self.observers:
            obs.stepped(self, state)

    # -- scans -------------------------------------------------------------------------------------
    def _scan(self, state: CourseState, reason: str) -> dict[str, Any]:
        """Scan the tissue now (a scan already taken today is reused) and record it."""
        if state.scans and abs(state.scans[-1]["day"] - state.day) < 1e-9:
            return state.scans[-1]
        img = self.imaging
        result, labels = take_scan(
            state.tissue.tumor,
            self.grid,
            state.day,
            viable_fraction=img.viable_fraction,
            detection=img.detection,
            rng=state.rng if img.detection == "stochastic" else None,
        )
        record = {**result.as_dict(), "reason": reason}
        state.scans.append(record)
        self._labelled = (state.day, labels)
        maps = treatability_maps(self.tissue, self.anatomy, state.tissue, self.untreated)
        state.scan_maps.append(state.stash("scanmap", maps))
        for obs in self.observers:
            obs.scanned(self, state)
        return record

    def _labels(self, state: CourseState) -> np.ndarray:
        """The lesion labels of today's scan (labelling is deterministic; visibility, which may
        be drawn at random, is in the scan's record): kept from the scan when it was taken in
        this process, else labelled again (after a resume)."""
        day, labels = self._labelled
        if day != state.day:
            _, labels = take_scan(
                state.tissue.tumor,
                self.grid,
                state.day,
                viable_fraction=self.imaging.viable_fraction,
            )
        return labels

    # -- sessions and decisions --------------------------------------------------------------------
    def _decide(self, state: CourseState) -> None:
        """A policy decision: scan, then treat what is visible or stop (with the reason). After
        the stop, a policy that re-treats local progression watches the follow-up scans."""
        run, policy = state.policy, self.policy
        if run is None or policy is None:
            raise RuntimeError("a policy decision in a strategy without a policy")
        record = self._scan(state, "policy")
        if run.stop_reason is not None:  # watching for local progression
            if pol.progression(state.scans, state.last_session_day):
                run.retreats += 1
                self._treat(state, record, retreat=True)
            run.next_day = self._next_watch(state, run)
            return
        reason = pol.stop_reason(policy, run, record, state)
        if reason is None:
            run.next_day = state.day + policy.every_d
            self._treat(state, record)
            return
        run.stop_reason = reason
        run.next_day = self._next_watch(state, run)

    def _next_watch(self, state: CourseState, run: PolicyRun) -> float | None:
        """Day of the next follow-up scan at which a policy that re-treats local progression
        looks again (None when it does not, has no re-treatment left, or the course ends)."""
        retreat = getattr(self.policy, "on_local_progression", None)
        if retreat is None or not retreat.retreat or run.retreats >= retreat.max:
            return None
        last = state.last_session_day if state.last_session_day is not None else 0.0
        end = last + self.scenario.follow_up_d
        scans = [d for d in self._periodic_scans(end) if d > state.day + _EPS_D]
        return scans[0] if scans else None

    def _treat(self, state: CourseState, record: dict[str, Any], *, retreat: bool = False) -> None:
        """Plan today's session from the scan and run it."""
        run, policy = state.policy, self.policy
        if run is None or policy is None:
            raise RuntimeError("a policy session in a strategy without a policy")
        labels = self._labels(state)
        plan: dict[str, Any] | None = None
        try:
            if policy.session.modality == "injection":
                session = pol.plan_session(policy, record, labels, self.grid, state.day)
            else:
                ctx = PlanningContext(
                    scenario=self.scenario,
                    grid=self.grid,
                    tissue=self.tissue,
                    anatomy=self.anatomy,
                    state=state.tissue,
                    options=self.options,
                    impl=self.p.impl,
                )
                session, plan = plan_ablation(ctx, policy, record, labels, state.day)
        except ValidationError as exc:  # e.g. a dose rule asking more than a site can take
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise ScenarioError(
                f"the session it planned on day {state.day:g} is not a valid session "
                f"({where}: {error['msg']}); change the policy",
                source=self.p.source,
                key=f"strategies.{self.name}.policy",
            ) from exc
        run.sessions_used += 1
        self._session(
            state, session, self.p.agents.get(-1), planned=True, plan=plan, retreat=retreat
        )

    def _session(
        self,
        state: CourseState,
        session: Any,
        agent: Agent | None,
        *,
        planned: bool = False,
        plan: dict[str, Any] | None = None,
        retreat: bool = False,
    ) -> None:
        """Run one session on the state, record it and hand the kill to the repair model."""
        n = len(state.sessions) + 1
        progress = next((o for o in self.observers if isinstance(o, ProgressObserver)), None)

        def report(frac: float, text: str) -> None:
            if progress is not None:
                progress.session(self, state, frac, f"session {n}: {text}")

        ctx = SessionContext(
            self.grid, self.anatomy, self.tissue, state.tissue, self.options, self.p.impl, report
        )
        ctx.agent = agent
        before = state.tissue.copy()
        res = RUNNERS[session.modality](ctx, session, f"session {n}")
        summ = session_summary(
            n, session.day, res, self.grid, self.anatomy, before, state.tissue, self.tissue.body
        )
        summ["planned_by_policy"] = planned
        summ["retreatment"] = retreat
        summ["treatability"] = (
            session_treatability(ctx, session, before, res, n)
            if state.sessions and self.scenario.outputs.treatability
            else None
        )
        if planned:
            summ["planned"] = pol.describe_plan(session) if plan is None else plan
            if plan is not None:  # the verifying run: what the full-resolution session reached
                plan["margin_reached_mm"] = summ["min_margin_mm"]
        if self.repair is not None and state.clock is not None:
            imm, recovery, inputs = repair_inputs(session, agent, self.repair.params)
            killed = (before.tumor + before.normal) - (state.tissue.tumor + state.tissue.normal)
            self.repair.injure(state.tissue, killed, imm)
            state.recovery_s = recovery
            state.clock.invalidate()
            summ["repair_inputs"] = inputs
            state.repair_inputs.append(inputs)
        dose = summ.get("systemic_dose", {}).get("amount_mmol")
        if dose is not None:
            state.systemic_mmol += float(dose)
        state.sessions.append(summ)
        state.session_fields.append(state.stash("session", res.fields))
        ts = res.timeseries.copy()
        ts.insert(0, "day", session.day)
        ts.insert(0, "session", n)
        state.session_rows.append(ts)
        state.rows.append({"day": session.day, "event": f"session {n} end", **self._volumes(state)})
        snap = state.stash("snapshot", state.tissue.as_dict())
        state.snapshots.append((f"after session {n}", session.day, snap))
        state.extras.append(
            {
                "focus_mm": [float(c) * 1e3 for c in res.focus[0]],
                "axis": None if res.focus[1] is None else [float(c) for c in res.focus[1]],
                "label": f"session {n}: {describe(session)}, day {session.day:g}",
            }
        )
        state.last_session_day = session.day
        for obs in self.observers:
            obs.session_done(self, state)

    def _volumes(self, state: CourseState) -> dict[str, float]:
        return volumes(
            state.tissue,
            state.normal0,
            self.voxel_ml,
            self.imaging.viable_fraction,
            self.tissue_mask,
        )

    # -- the result --------------------------------------------------------------------------------
    def result(self, state: CourseState) -> Result:
        """The outputs of a finished course."""
        scenario, rows = self.scenario, state.rows
        final = rows[-1]
        last_day = state.last_session_day if state.last_session_day is not None else 0.0
        notes = self._notes(state)
        visible_days = [r["day"] for r in rows[1:] if r["visible_tumor_ml"] <= 0.0]
        if state.policy is not None:
            stop = state.policy.stop_reason or "course_end"
        else:
            stop = "schedule_complete"
        outcome = {
            "days": state.day,
            "viable_tumor_ml": final["viable_tumor_ml"],
            "visible_tumor_ml": final["visible_tumor_ml"],
            "scar_ml": final["scar_ml"],
            "normal_lost_ml": final["normal_lost_ml"],
            "tumor_free": final["viable_tumor_ml"] < TUMOR_FREE_ML,
            "days_to_no_visible_tumor": visible_days[0]
            if visible_days and rows[0]["visible_tumor_ml"] > 0
            else None,
            "local_progression_day": local_progression(rows, last_day)
            if self.repair is not None
            else None,
            "treatability": course_treatability(state.sessions, state.final_treatability),
            "stop_reason": stop,
            "sessions_used": len(state.sessions),
            "scans": len(state.scans),
            "systemic_dose_mmol": state.systemic_mmol,
            "reaction_products_mmol": _products(state.sessions),
            **movement(state.tissue),
        }
        scenario_yaml = dump_scenario(scenario)
        fields = fields_dataset(
            self.grid,
            self.anatomy,
            state.snapshots,
            state.session_fields,
            [(scan["day"], maps) for scan, maps in zip(state.scans, state.scan_maps, strict=True)],
            scenario_yaml,
            scenario,
            self.name,
        )
        summary: dict[str, Any] = {
            "scenario": scenario.name,
            "strategy": self.name,
            "version": __version__,
            "seed": scenario.seed,
            "wall_time_s": state.wall_time_s,
            "kernel_threads": num_threads(),
            "research_use": RESEARCH_USE,
            "grid": {"shape": list(self.grid.shape), "spacing_mm": self.grid.spacing * 1e3},
            "sessions": state.sessions,
            "outcome": outcome,
            "scans": state.scans,
            "imaging": {
                "viable_fraction": self.imaging.viable_fraction,
                "detection": self.imaging.detection,
            },
            "notes": notes,
        }
        if self.repair is not None and state.clock is not None:
            summary["repair"] = repair_summary(
                scenario, self.repair, state.clock, state.repair_inputs, rows, self.voxel_ml
            )
            summary["repair"]["steps"] = int(state.clock.steps)
            summary["repair"]["wall_time_s"] = state.repair_wall_s
        summary["hypotheses"] = hypothesis_table(
            state.sessions, outcome, final["collagen_ml"], summary.get("repair")
        )
        if state.policy is not None and self.policy is not None:
            summary["policy"] = {"kind": self.policy.kind, **state.policy.as_dict()}
        if state.checkpoints:
            summary["checkpoints"] = list(state.checkpoints)
        if self.anatomy.world_affine is not None:
            summary["anatomy"] = anatomy_summary(self.anatomy)
        return Result(
            summary=summary,
            timeseries=pd.DataFrame(rows),
            fields=fields,
            session_timeseries=pd.concat(state.session_rows, ignore_index=True)
            if state.session_rows
            else pd.DataFrame(),
            scenario_yaml=scenario_yaml,
            extras={"sessions": state.extras},
        )

    def _notes(self, state: CourseState) -> list[str]:
        scenario = self.scenario
        notes = []
        agents = {a.name: a for a in self.p.agents.values() if not a.validated}
        for agent in agents.values():
            said = "UNVALIDATED" in agent.status_note
            notes.append(
                f"agent {agent.name}: {agent.status_note}"
                if said
                else f"agent {agent.name} is UNVALIDATED: {agent.status_note}"
            )
        end = state.day
        if self.repair is None and (scenario.follow_up_d > 0 or len(state.sessions) > 1):
            why = (
                "switched off (repair.enabled: false)"
                if not scenario.repair.enabled
                else f"not defined for tissue preset {scenario.tissue.preset!r}"
            )
            notes.append(
                f"tissue repair is {why}: the state carries over unchanged between sessions and "
                "the outcome is evaluated right after the last session"
            )
        for ses in state.sessions:
            delivered = ses.get("delivered", {})
            beyond = float(delivered.get("beyond_grid_energy_j", 0.0))
            absorbed = beyond + float(delivered.get("energy_j", 0.0))
            if absorbed > 0 and beyond > BEYOND_GRID_NOTE * absorbed:
                notes.append(
                    f"session {ses['index']} ({ses['modality']}): {beyond / absorbed:.0%} of the "
                    f"power the tissue absorbed ({beyond / 1e3:.2g} kJ) fell beyond the grid's "
                    "faces, where its heat is not simulated; a larger grid would hold it"
                )
        wanted = sorted(set(scenario.outputs.snapshots_d))
        session_days = {round(s["day"], 9) for s in state.sessions}
        pending = [d for d in wanted if round(d, 9) not in session_days and 0 < d <= end]
        if self.repair is None and pending:
            notes.append(
                "snapshots between or after sessions need the repair model and were not taken: "
                + ", ".join(f"{d:g} d" for d in pending)
            )
        late = [d for d in wanted if d > end + _EPS_D]
        if late:
            notes.append(
                f"snapshots after the end of the course (day {end:g}) were not taken: "
                + ", ".join(f"{d:g} d" for d in late)
            )
        return notes


def _products(sessions: list[dict[str, Any]]) -> dict[str, float]:
    """Reaction products formed over the course, mmol by product."""
    total: dict[str, float] = {}
    for s in sessions:
        formed = s.get("systemic_dose", {}).get("reaction_products_formed_mmol", {})
        for name, amount in formed.items():
            total[name] = total.get(name, 0.0) + amount
    return total


# -- the public entry points ----------------------------------------------------------------------
def simulate(
    scenario: Scenario,
    strategy: str | None = None,
    *,
    progress: Progress | None = None,
    impl: str = "compiled",
    source: str | None = None,
    checkpoints: str | os.PathLike[str] | None = None,
    resume: bool = False,
    start_from: str | os.PathLike[str] | None = None,
    observers: Sequence[Observer] = (),
    prepared: Prepared | None = None,
) -> Result:
    """Simulate one strategy of ``scenario`` as a course.

    Parameters
    ----------
    scenario
        A validated scenario (:func:`tissuefate.load_scenario`).
    strategy
        Name of the strategy; may be omitted when the scenario has only one.
    progress
        Called with (fraction of the run done, status text) as it goes.
    impl
        ``"compiled"`` (numba kernels, default) or ``"numpy"`` (reference implementation, slow).
    source
        The scenario's file name, for error messages.
    checkpoints
        A folder to write checkpoints to: after every session and every
        ``outputs.checkpoint_every`` of course time. None writes none.
    resume
        Continue from the newest checkpoint in ``checkpoints`` (it must hold one of this
        scenario and strategy).
    start_from
        A checkpoint folder (of any strategy of a scenario with the same grid, tissue, anatomy and
        repair) to branch from: its history is kept and this strategy goes on from there.
    observers
        More observers of the course.
    prepared
        What ``prepare(scenario, strategy, impl=impl, source=source)`` returned, when the
        caller has it already (the CLI checks every input before it makes the output folder):
        used as it is, not built again (on an image, that is its reading and resampling).

    Returns
    -------
    Result
        ``.summary`` (dict), ``.timeseries`` (DataFrame), ``.fields`` (xarray.Dataset) and more.
    """
    if prepared is None:
        prepared = prepare(scenario, strategy, impl=impl, source=source)
    elif strategy is not None and prepared.strategy != strategy:
        raise ValueError(f"prepared is for strategy {prepared.strategy!r}, not {strategy!r}")
    watchers: list[Observer] = list(observers)
    if progress is not None:
        watchers.insert(0, ProgressObserver(progress))
    if checkpoints is not None:
        watchers.append(Checkpointer(checkpoints, scenario.outputs.checkpoint_every_d))
    course = Course(prepared, watchers)
    state = _initial_state(course, checkpoints, resume, start_from)
    if checkpoints is not None:  # recorded fields stream to disk beside the checkpoints
        state.history = Path(checkpoints) / PARTS
    course.run(state)
    return course.result(state)


def _initial_state(
    course: Course,
    checkpoints: str | os.PathLike[str] | None,
    resume: bool,
    start_from: str | os.PathLike[str] | None,
) -> CourseState:
    if resume and start_from is not None:
        raise ScenarioError("choose one of --resume and --from", key="--resume")
    if resume:
        found = None if checkpoints is None else latest_checkpoint(checkpoints)
        if found is None:
            raise ScenarioError(
                "holds no checkpoint to resume from", key="--resume", source=str(checkpoints)
            )
        state, identity = load_course_state(found, "--resume", lazy=True)
        mine = course.identity()
        if (
            identity.get("scenario") != mine["scenario"]
            or identity.get("strategy") != mine["strategy"]
        ):
            raise ScenarioError(
                f"its checkpoint belongs to scenario {identity.get('scenario_name')!r}, strategy "
                f"{identity.get('strategy')!r}, not to this one; use --from to branch",
                key="--resume",
                source=str(checkpoints),
            )
        return state
    if start_from is not None:
        state, identity = load_course_state(start_from, "--from")
        state.checkpoints = []
        state = course.branch(state, identity, str(start_from))
    else:
        state = course.start()
    if checkpoints is not None:  # a new run: the checkpoints of an earlier one are stale
        for old in [*Path(checkpoints).glob("[0-9][0-9][0-9][0-9]-*"), Path(checkpoints) / PARTS]:
            shutil.rmtree(old, ignore_errors=True)
    return state


def compare(
    scenario: Scenario, strategies: list[str] | None = None, **kwargs: Any
) -> dict[str, Result]:
    """Simulate several strategies of ``scenario`` (all by default) on the same anatomy."""
    names = list(scenario.strategies) if strategies is None else strategies
    impl, source = kwargs.get("impl", "compiled"), kwargs.get("source")
    ready = {name: prepare(scenario, name, impl=impl, source=source) for name in names}
    return {name: simulate(scenario, name, prepared=ready[name], **kwargs) for name in names}
