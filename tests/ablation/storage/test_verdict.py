"""The one Verdict enum: its values are the strings study folders hold, and is_decided() is one set."""

import numpy as np
import pytest

from augstudy.ablation.analysis import stats
from augstudy.ablation.storage import schema
from augstudy.ablation.terms import WRITTEN, Verdict


def test_verdict_values_are_the_stored_strings():
    assert [v.value for v in WRITTEN] == ["better", "worse", "equivalent", "inconclusive", "unstable"]
    older = {"within noise", "needs >= 2 seeds", "no paired seeds"}       # what older study folders hold
    assert {v.value for v in Verdict} - {v.value for v in WRITTEN} == older
    for v in Verdict:                                  # a StrEnum: CSV cells, JSON and f-strings unchanged
        assert v == v.value and str(v) == v.value and f"{v}" == v.value
        assert schema.csv_cell("verdict", v) == v.value
        assert Verdict.parse(f" {v.value} ") is v


def test_is_decided_is_exactly_better_worse_equivalent():
    assert {v for v in Verdict if v.is_decided()} == {Verdict.BETTER, Verdict.WORSE, Verdict.EQUIVALENT}


def test_the_statistics_write_only_written_verdicts():
    rng = np.random.default_rng(0)
    d = rng.normal(0.0, 1.0, size=(400, 3, 4)) + np.array([0.0, 3.0, -3.0])[:, None]
    assert set(np.unique(stats.decide(d))) <= set(WRITTEN)
    assert set(np.unique(stats.decide(d))) >= {Verdict.BETTER, Verdict.WORSE, Verdict.INCONCLUSIVE}


def test_an_unknown_verdict_is_refused_naming_the_column_and_the_allowed_values():
    cells = {c: "" for c in schema.EFFECT_COLUMNS}
    cells.update(factor="f", arm="a", level="1", n_seeds="3", significant="False", equivalent="False",
                 n_diverged="0", verdict="better", decision="better")
    row = schema.EffectRow.from_csv_row(cells)
    assert row.verdict is Verdict.BETTER and row.verdict.is_decided()
    with pytest.raises(ValueError, match=r"column verdict: 'amazing' is not a verdict \(one of better, worse"):
        schema.EffectRow.from_csv_row({**cells, "verdict": "amazing"})
    old = {k: v for k, v in cells.items() if k not in ("verdict", "decision")}   # no verdict columns at all
    assert schema.EffectRow.from_csv_row(old).verdict == ""


def test_seeds_auto_stops_every_decided_arm_and_final_differs_only_by_inconclusive():
    """``--seeds auto`` asks ``final`` (the rule stopped the arm); a decided decision is always final, and
    a final arm that is not decided stopped inconclusive."""
    from augstudy.ablation.analysis.stats import sequential as sq, verdicts as sv

    rng = np.random.default_rng(3)
    seen = set()
    for k in range(30):
        effects = rng.choice([0.0, 0.5, 4.0], size=3)
        n = int(rng.choice([3, 5, 9, 20]))
        arms = [sv.PairedArm(f"a{i}", e + rng.normal(size=n)) for i, e in enumerate(effects)]
        for a in sq.sequential_step(arms, start_seeds=3, batch=2, max_seeds=20).arms:
            decided = a.effect.decision.is_decided()
            assert (a.final and a.effect.decision != Verdict.INCONCLUSIVE) == decided, (k, a)
            seen.add((a.final, decided))
    assert seen == {(True, True), (False, False), (True, False)}      # every case was exercised
