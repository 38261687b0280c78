"""Policies: what a course does at a decision, knowing only what the last scan saw.

``repeat_until_clear`` treats every visible lesion at each decision until a scan shows none, or a
stop rule fires. Its injection dose rule turns the visible volume into sites: the volume
``fraction_of_visible_volume`` × each visible lesion's volume on the scan is injected into that
lesion, through sites spread over it (k-means of its voxels, so each site sits at the centre of
the part of the lesion it serves, with a volume in proportion to that part). These volumes are a
*model input* computed from a modelled scan — they are not a dose recommendation, and tissuefate
gives no patient-specific dosing advice.

Stop rules, checked at each decision after the scan (the first that holds is recorded as
``outcome.stop_reason``): ``no_visible_tumor``; ``max_sessions``; ``normal_tissue_budget`` (normal
tissue lost at least the budget); ``systemic_dose_budget`` (agent that reached the circulation
at least the budget). A course without a policy ends ``schedule_complete``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ScenarioError
from ..grid.grid import Grid
from ..scenario.models import Scenario
from .imaging import PROGRESSION_VOLUME_RATIO

if TYPE_CHECKING:
    from .state import CourseState, PolicyRun

__all__ = [
    "SITE_VOLUME_ML",
    "STOP_REASONS",
    "check_policy",
    "describe_plan",
    "injection_session",
    "injection_sites",
    "plan_session",
    "progression",
    "stop_reason",
    "template_session",
]

SITE_VOLUME_ML = 2.0
"""With ``sites: auto``, one needle position per started 2 mL of injectate (at least one per
visible lesion). An assumption, chosen so that each site's injectate stays near its tip: the
project's calibrated ethanol sessions inject 0.3–2 mL per site; no source gives a rule."""

NEEDLE_DIRECTION = (0.0, 0.0, -1.0)
"""Planned needles enter along −z (shaft above the tip), as in the shipped examples."""

STOP_REASONS = (
    "no_visible_tumor",
    "max_sessions",
    "normal_tissue_budget",
    "systemic_dose_budget",
    "schedule_complete",
    "course_end",
)


def template_session(strategy: Any) -> Any:
    """The session template of a strategy's policy (None without a policy)."""
    policy = getattr(strategy, "policy", None)
    return None if policy is None else policy.session.example()


def check_policy(scenario: Scenario, name: str, strategy: Any, source: str | None) -> None:
    """Checks of a strategy's policy that need more than its own keys.

    Raises
    ------
    ScenarioError
        When the policy cannot be run as written.
    """
    policy = getattr(strategy, "policy", None)
    if policy is None:
        return
    key = f"strategies.{name}.policy"
    modality = policy.session.modality
    if policy.kind == "repeat_until_clear" and modality != "injection":
        raise ScenarioError(
            f"repeat_until_clear plans {modality} sessions with the ablate_visible planner; "
            "use kind: ablate_visible for a thermal session template",
            source=source,
            key=f"{key}.kind",
        )


def stop_reason(
    policy: Any, run: PolicyRun, scan: dict[str, Any], state: CourseState
) -> str | None:
    """Why the policy stops at this decision (None: it treats)."""
    if not any(lesion["visible"] for lesion in scan["lesions"]):
        return "no_visible_tumor"
    if run.sessions_used >= policy.max_sessions:
        return "max_sessions"
    budget = policy.normal_lost_budget_ml
    if budget is not None and state.rows[-1]["normal_lost_ml"] >= budget:
        return "normal_tissue_budget"
    dose_budget = policy.systemic_dose_budget_mmol
    if dose_budget is not None and state.systemic_mmol >= dose_budget:
        return "systemic_dose_budget"
    return None


def progression(scans: list[dict[str, Any]], last_session_day: float | None) -> bool:
    """Local progression on the last scan: visible tumour again after a scan since the last
    session showed none, or visible tumour grown by ``PROGRESSION_VOLUME_RATIO`` (RECIST 1.1's
    20 % in diameter) over its smallest volume since that session."""
    since = [s for s in scans if last_session_day is None or s["day"] > last_session_day + 1e-9]
    if len(since) < 2:
        return False
    *before, now = since
    low = min(s["visible_ml"] for s in before)
    return (low <= 0.0 < now["visible_ml"]) or (
        low > 0.0 and now["visible_ml"] >= PROGRESSION_VOLUME_RATIO * low
    )


def _split(counts: np.ndarray, total: int) -> np.ndarray:
    """``total`` items split over bins in proportion to ``counts``: at least one each, the rest
    by largest remainder (ties to the lower index)."""
    n = len(counts)
    total = max(total, n)
    share = counts / counts.sum() * (total - n)
    out = np.floor(share).astype(int) + 1
    rest = total - int(out.sum())
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    out[order[:rest]] += 1
    return out


def _kmeans(points: np.ndarray, k: int, iterations: int = 30) -> np.ndarray:
    """Deterministic k-means of ``points`` (n, 3): the label of each point.

    Seeds by farthest-point sampling from the point nearest the centroid, then Lloyd steps.
    """
    if k <= 1 or len(points) <= k:
        return (
            np.minimum(np.arange(len(points)), k - 1)
            if len(points) <= k
            else np.zeros(len(points), int)
        )
    centre = points.mean(axis=0)
    seeds = [int(np.argmin(((points - centre) ** 2).sum(axis=1)))]
    dist = ((points - points[seeds[0]]) ** 2).sum(axis=1)
    for _ in range(1, k):
        seeds.append(int(np.argmax(dist)))
        dist = np.minimum(dist, ((points - points[seeds[-1]]) ** 2).sum(axis=1))
    centres = points[seeds].astype(float)
    labels = np.zeros(len(points), int)
    for _ in range(iterations):
        d = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(d, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(k):
            mine = points[labels == j]
            if len(mine):
                centres[j] = mine.mean(axis=0)
    return labels


def injection_sites(
    scan: dict[str, Any], labels: np.ndarray, grid: Grid, dose: Any
) -> list[dict[str, Any]]:
    """The injection sites of a dose rule for the visible lesions of ``scan``.

    Parameters
    ----------
    scan
        A scan record (``Scan.as_dict()``): its lesions with ``label``, ``volume_ml`` and
        ``visible``.
    labels
        The scan's lesion labels on the grid.
    dose
        The policy's dose rule (``fraction_of_visible_volume``, ``sites``, ``rate_ml_h``,
        ``max_volume_ml``).

    Returns
    -------
    list of dict
        One per site: ``tip_mm`` (scenario frame), ``volume_ml``, ``rate_ml_h``, ``lesion``.
    """
    visible = [lesion for lesion in scan["lesions"] if lesion["visible"]]
    if not visible:
        return []
    volumes = np.array([dose.fraction_of_visible_volume * les["volume_ml"] for les in visible])
    total = float(volumes.sum())
    if dose.max_volume_ml is not None and total > dose.max_volume_ml:
        volumes *= dose.max_volume_ml / total
        total = float(volumes.sum())
    wanted = (
        max(len(visible), math.ceil(total / SITE_VOLUME_ML - 1e-9))
        if dose.sites == "auto"
        else int(dose.sites)
    )
    per_lesion = _split(volumes, wanted)
    axes = grid.axes_mm()
    sites = []
    for lesion, volume, n in zip(visible, volumes, per_lesion, strict=True):
        idx = np.argwhere(labels == lesion["label"])
        points = np.stack([axes[d][idx[:, d]] for d in range(3)], axis=1)
        groups = _kmeans(points, int(n))
        for j in range(int(n)):
            mine = points[groups == j]
            if not len(mine):
                continue
            centre = mine.mean(axis=0)
            tip = mine[np.argmin(((mine - centre) ** 2).sum(axis=1))]  # a voxel of the lesion
            sites.append(
                {
                    "tip_mm": [float(c) for c in tip],
                    "volume_ml": float(volume) * len(mine) / len(points),
                    "rate_ml_h": dose.rate_ml_h,
                    "lesion": int(lesion["label"]),
                }
            )
    return sites


def plan_session(
    policy: Any, scan: dict[str, Any], labels: np.ndarray, grid: Grid, day: float
) -> Any:
    """The session a policy gives today, aimed at what ``scan`` shows."""
    return injection_session(policy, injection_sites(scan, labels, grid, policy.dose), day)


def injection_session(policy: Any, sites: list[dict[str, Any]], day: float) -> Any:
    """The policy's injection session on ``day`` through ``sites`` (``tip_mm``, ``volume_ml``,
    ``rate_ml_h`` each, as :func:`injection_sites` gives and the summary records them)."""
    return policy.session.instantiate(
        day,
        sites=[
            {
                "tip": [f"{c!r} mm" for c in s["tip_mm"]],
                "direction": list(NEEDLE_DIRECTION),
                "volume": f"{s['volume_ml']!r} mL",
                "rate": f"{s['rate_ml_h']!r} mL/h",
            }
            for s in sites
        ],
    )


def describe_plan(session: Any) -> dict[str, Any]:
    """What a policy chose for a session (for the summary): its sites or applicators."""
    if session.modality == "injection":
        return {
            "sites": [
                {
                    "tip_mm": [c * 1e3 for c in site.tip_m],
                    "volume_ml": site.volume_m3 * 1e6,
                    "rate_ml_h": None if site.rate_m3_s is None else site.rate_m3_s * 3.6e9,
                }
                for site in session.sites
            ],
            "volume_ml": session.volume_m3 * 1e6,
            "note": "volumes computed by the model's dose rule from a modelled scan: a model "
            "input, not a dosing recommendation",
        }
    return {}
