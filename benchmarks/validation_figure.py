"""Model against measured zone sizes from a ``tissuefate validate --json`` run (validation.md).

Four panels: microwave zone axes (mm), microwave zone volumes (mL), RF coagulation zone volumes
(mL) and cryo isotherm sizes (mm). Open markers are rows a parameter was fitted to, filled ones
predictions; red ones miss their tolerance; grey squares are reported rows (no tolerance: the
Song 2015 zones, judged per kJ elsewhere). The grey band is ±20 % (the issue's tolerance of a
cryo row; a microwave or in vivo RF axis row has ±25 %, a volume a factor of 2).

Run:  tissuefate validate --json > run.json
      python benchmarks/validation_figure.py run.json docs/images/validation_sizes.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _panels(rows: list[dict]) -> dict[str, list[dict]]:
    sizes = [r for r in rows if r["ok"] is not None and r["kind"] in ("fitted", "predicted")]
    microwave = [r for r in sizes if r["case"].startswith("microwave M")]
    return {
        "Microwave zone axes (mm)": [
            r for r in microwave if r["quantity"].startswith(("short", "long"))
        ],
        "Microwave zone volumes (mL)": [r for r in microwave if r["quantity"].startswith("volume")],
        "RF coagulation zone volumes (mL)": [
            r
            for r in rows
            if r["case"].startswith("RF ")
            and r["kind"] in ("fitted", "predicted", "reported")
            and r["quantity"].startswith("coagulation zone volume")
        ],
        "Cryo isotherms (mm)": [
            r
            for r in sizes
            if r["case"].startswith("cryo ")
            and "(mm" in r["quantity"]
            and "ratio" not in r["quantity"]
        ],
    }


def main(run: Path, out: Path) -> None:
    rows = json.loads(run.read_text())
    panels = _panels(rows)
    fig, axes = plt.subplots(2, 2, figsize=(10, 9.4), constrained_layout=True)
    for ax, (title, mine) in zip(axes.flat, panels.items(), strict=True):
        if not mine:
            ax.set_visible(False)
            continue
        hi = 1.1 * max(max(r["simulated"], r["exact"]) for r in mine)
        ax.fill_between([0, hi], [0, 0.8 * hi], [0, 1.2 * hi], color="0.9", label="±20 %")
        ax.plot([0, hi], [0, hi], color="0.5", lw=0.8)
        for kind, face in (("fitted", "none"), ("predicted", None)):
            for ok, color in ((True, "tab:blue"), (False, "tab:red")):
                pts = [r for r in mine if r["kind"] == kind and bool(r["ok"]) == ok]
                if not pts:
                    continue
                ax.scatter(
                    [r["exact"] for r in pts],
                    [r["simulated"] for r in pts],
                    s=28,
                    facecolors=face or color,
                    edgecolors=color,
                    label=f"{kind}, {'within' if ok else 'outside'} tolerance ({len(pts)})",
                )
        reported = [r for r in mine if r["ok"] is None]
        if reported:
            ax.scatter(
                [r["exact"] for r in reported],
                [r["simulated"] for r in reported],
                s=30,
                marker="s",
                facecolors="none",
                edgecolors="0.45",
                label=f"reported, no tolerance ({len(reported)})",
            )
        ax.set_xlim(0, hi)
        ax.set_ylim(0, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("measured")
        ax.set_ylabel("model")
        ax.set_title(title)
        ax.legend(fontsize=7, loc="lower right")
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
