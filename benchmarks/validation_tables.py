"""Markdown tables of a ``tissuefate validate --json`` run, for docs/validation.md.

Two layouts:

* ``--by-kind`` (default): one table per kind (exact, consistency, fitted, predicted, judged,
  reported), the layout of the "Last run" section. Rows of single published microwave zones
  (``microwave M...`` with a short axis, long axis or volume) and cryo isotherms (``cryo ...``)
  are counted, not listed: they are in their own sections.
* ``--calibration``: the rows of one group as the microwave sections show them (row, kind,
  quantity, model, measured, error, tolerance, ok), e.g. the predicted microwave rows with
  ``--calibration --kind predicted``.

Run:  tissuefate validate --json > run.json;  python benchmarks/validation_tables.py run.json
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

KINDS = {
    "exact": "Exact solutions and conservation laws",
    "consistency": "Consistency checks (a kernel against its own formula or the publication of "
    "its parameters)",
    "fitted": "Fitted rows (a parameter was fitted to these)",
    "predicted": "Predicted rows (published measurements no parameter was fitted to)",
    "judged": "Judged rows (qualitative findings turned into thresholds)",
    "reported": "Reported rows (no data to judge by)",
}
ZONE_QUANTITIES = ("short axis", "long axis", "volume")


def single_zone(row: dict) -> bool:
    """A row of one published microwave zone or cryo isotherm (listed in their own sections)."""
    if row["case"].startswith("cryo "):
        return True
    return (
        row["case"].startswith("microwave M")
        and "/" not in row["case"].split(":")[0]
        and (row["quantity"].startswith(ZONE_QUANTITIES))
    )


def _ok(row: dict) -> str:
    return "" if row["ok"] is None else ("yes" if row["ok"] else "**no**")


def _tol(row: dict) -> str:
    t = row["tolerance"]
    return "" if t is None or not math.isfinite(t) else f"{t:g}"


def by_kind(rows: list[dict]) -> str:
    out = []
    for kind, title in KINDS.items():
        mine = [r for r in rows if r["kind"] == kind]
        if not mine:
            continue
        out += [f"### {title}", ""]
        zones = [r for r in mine if single_zone(r)]
        if zones:
            good = sum(bool(r["ok"]) for r in zones)
            out += [
                f"Plus {len(zones)} rows of single published microwave zones and cryo isotherms "
                f"({good} within their tolerance), listed in their sections above.",
                "",
            ]
        out += [
            "| case | quantity | simulated | exact / published | error | tolerance | ok |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in mine:
            if single_zone(r):
                continue
            out.append(
                f"| {r['case']} | {r['quantity']} | {r['simulated']:g} | {r['exact']:g} | "
                f"{r['error']:.2e} | {_tol(r)} | {_ok(r)} |"
            )
        out.append("")
    return "\n".join(out)


def _value(x: float, quantity: str) -> str:
    if quantity.startswith(("short axis", "long axis", "volume")) or "(mm)" in quantity:
        return f"{x:.1f}"
    return f"{x:.3g}" if abs(x) >= 10 else f"{x:.3f}".rstrip("0").rstrip(".") or "0"


def calibration(rows: list[dict], kind: str | None) -> str:
    out = [
        "| row | kind | quantity | model | measured | error | tolerance | ok |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if kind is not None and r["kind"] != kind:
            continue
        model, measured = (_value(r[k], r["quantity"]) for k in ("simulated", "exact"))
        out.append(
            f"| {r['case']} | {r['kind']} | {r['quantity']} | {model} | {measured} | "
            f"{r['error']:+.2f} | {_tol(r)} | {_ok(r)} |"
        )
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="output of tissuefate validate --json")
    ap.add_argument("--calibration", action="store_true", help="the microwave sections' layout")
    ap.add_argument("--kind", help="only rows of this kind (with --calibration)")
    ap.add_argument("--case", default="", help="only rows whose case starts with this")
    args = ap.parse_args()
    rows = [r for r in json.loads(args.run.read_text()) if r["case"].startswith(args.case)]
    if not args.calibration:
        failed = {k: sum(r["ok"] is False for r in rows if r["kind"] == k) for k in KINDS}
        print(f"{len(rows)} rows; misses per kind: {failed}\n")
    print(calibration(rows, args.kind) if args.calibration else by_kind(rows))


if __name__ == "__main__":
    main()
