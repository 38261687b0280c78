"""The study report's sensitivity panels: an output that never varied says so."""

from __future__ import annotations

from tissuefate.report.study_figures import sensitivity


def _texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_a_constant_output_says_it_has_no_variance():
    zero = {"S1": 0.0, "S1_conf": 0.0, "ST": 0.0, "ST_conf": 0.0}
    varied = {"S1": 0.6, "S1_conf": 0.1, "ST": 0.7, "ST_conf": 0.1}
    outputs = {
        "a/event": {"indices": {"p": dict(zero), "q": dict(zero)}},
        "a/volume": {"indices": {"p": dict(varied), "q": dict(zero)}},
    }
    fig = sensitivity(outputs, "sobol")
    assert fig is not None
    notes = [t for t in _texts(fig) if "no variance" in t]
    assert len(notes) == 1  # on the constant output's panel only
    assert notes[0] in [t.get_text() for t in fig.axes[0].texts]
