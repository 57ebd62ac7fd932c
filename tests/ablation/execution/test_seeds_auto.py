"""``--seeds auto`` end to end: batches only for undecided arms, the cost line, resume and a pinned plan.

The decision rule itself (error rates under optional stopping) is simulated in
``tests/test_stats_sequential.py``; here a real study at tiny size (16 noise images, a small
network, 1 epoch) checks that the runs trained are exactly the ones the rule asked for.
"""

from __future__ import annotations

import json
import re
import types

import pytest

from augstudy.ablation.analysis.effects import SequentialPlan
from augstudy.ablation.storage.exporter import StudyDescription
from augstudy.ablation.runner import run_study
from augstudy.ablation.execution.seeds_auto import next_seeds
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.storage.store import StudyStore
from augstudy.errors import UserError
from study_helpers import noise_dataset, write_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"model": {"classifier_depth": 0, "width": 0.5}}
TINY_RUN = {"train": {"epochs": 1, "batch_size": 8}}


def _arm(name, baseline=False):
    return Arm(name, "f", name, baseline, {"data": {}}, name + "hash")


def test_next_seeds_adds_the_next_look_only_to_undecided_arms_and_the_baseline():
    arms = [_arm("base", True), _arm("done"), _arm("open")]
    desc = StudyDescription("f", "tiny", "last3", "cpu", [0, 1, 2], arms, "d", "/d", ["a", "b"], 0, 0,
                            seeds_of={"base": [0, 1, 2], "done": [0, 1, 2], "open": [0, 1, 2]})

    def arm(name, final, target):
        return types.SimpleNamespace(effect=types.SimpleNamespace(arm=name), final=final, target_seeds=target)

    seq = types.SimpleNamespace(done=False, baseline_seeds=5, arms=[arm("done", True, 3), arm("open", False, 5)])
    assert next_seeds(desc, seq) == {"base": [0, 1, 2, 3, 4], "done": [0, 1, 2], "open": [0, 1, 2, 3, 4]}
    assert next_seeds(desc, types.SimpleNamespace(done=True)) is None


def _study(tmp_path, lines, **kwargs):
    specs = write_specs(tmp_path / "specs", {"lr": {"baseline_level": 0.05, "levels": {
        0.05: {"optimizer": {"lr": 0.05}}, 0.5: {"optimizer": {"lr": 0.5}}}}}, baseline_changes=SMALL)
    options = {"start_seeds": 2, "seed_batch": 1, "max_seeds": 3, **kwargs}
    return run_study("lr", seeds="auto", budget="tiny", dataset=noise_dataset(16, 16), device="cpu",
                     out=tmp_path / "study", specs_dir=specs, report=False, echo=lines.append,
                     budget_override=TINY_RUN, **options)


def test_seeds_auto_trains_what_each_look_asks_for_and_resumes_without_training(tmp_path):
    lines: list[str] = []
    result = _study(tmp_path, lines)
    study = json.loads((tmp_path / "study" / "study.json").read_text())
    assert study["seeds_plan"] == {"mode": "auto", "start": 2, "batch": 1, "max": 3}
    assert result.complete and study["complete"]
    # every batch announced its cost; exactly that many runs were trained after it
    plans = [i for i, line in enumerate(lines) if line.startswith("seeds auto:")]
    assert plans and "no more runs" in lines[plans[-1]]
    assert len([i for i in plans if "costs" in lines[i]]) == 2, lines        # the start look, then one more
    for start, end in zip(plans, plans[1:]):
        cost = re.search(r"costs (\d+) runs", lines[start])
        trained = [line for line in lines[start:end] if line.startswith("run lr=")]
        if cost:
            assert len(trained) == int(cost.group(1)), lines[start:end]
            assert ("min" in lines[start]) == (start != plans[0])             # time once runs were measured
    # the study holds exactly the seeds the looks asked for: each arm its stopping look's, the baseline the most
    seeds_of = study["seeds_of"]
    row = result.effects.rows[0]
    assert len(seeds_of["lr=0.5"]) == row.n_seeds and seeds_of["lr=0.5"] == list(range(row.n_seeds))
    assert seeds_of["lr=0.05"] == list(range(max(len(s) for s in seeds_of.values())))
    store = StudyStore(tmp_path / "study")
    runs = store.runs()
    store.close()
    assert sorted((r["arm"], r["seed"]) for r in runs.values()) == sorted(
        (arm, s) for arm, seeds in seeds_of.items() for s in seeds)
    assert all(r["status"] == "done" for r in runs.values())
    assert "Seeds auto: group-sequential" in result.table
    effects_before = (tmp_path / "study" / "effects.csv").read_text()

    again: list[str] = []
    _study(tmp_path, again)                                                  # resume: replays, trains nothing
    assert not [line for line in again if line.startswith("run lr=")]
    assert (tmp_path / "study" / "effects.csv").read_text() == effects_before

    with pytest.raises(UserError, match="--seeds auto with start 2, batch 1, max 3"):
        _study(tmp_path, [], max_seeds=5)
    with pytest.raises(UserError, match="SESOI 1"):
        _study(tmp_path, [], sesoi=2.0)


def test_bad_plans_fail_with_one_line_messages(tmp_path):
    with pytest.raises(UserError, match="at least 2 seeds"):
        _study(tmp_path, [], start_seeds=1)
    with pytest.raises(UserError, match="max_seeds=2 is below start_seeds=3; raise max_seeds"):   # keyword names
        _study(tmp_path, [], start_seeds=3, max_seeds=2)
    assert SequentialPlan(3, 2, 20).to_dict() == {"mode": "auto", "start": 3, "batch": 2, "max": 20}


def test_seeds_auto_with_the_ray_executor_replays_the_local_schedule_run_for_run(tmp_path):
    """The same plan trained by Ray tasks registers the same seeds and gets the same numbers."""
    import logging

    ray = pytest.importorskip("ray", reason="the Ray executor needs pip install 'augstudy[ray]'")
    from augstudy.ablation.execution.ray_executor import RayExecutor

    local_lines: list[str] = []
    _study(tmp_path / "local", local_lines)
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    try:
        ray_lines: list[str] = []
        _study(tmp_path / "ray", ray_lines, executor=RayExecutor(echo=ray_lines.append))
    finally:
        ray.shutdown()
    local, remote = (json.loads((tmp_path / d / "study" / "study.json").read_text()) for d in ("local", "ray"))
    assert remote["seeds_of"] == local["seeds_of"] and remote["complete"]
    def plan_lines(lines):   # the cost lines, without the time estimate (measured, so it differs)
        return [re.sub(r", about [\d.]+ min", "", line) for line in lines if line.startswith("seeds auto:")]

    assert plan_lines(ray_lines) == plan_lines(local_lines)
    assert (tmp_path / "ray" / "study" / "effects.csv").read_text() == \
        (tmp_path / "local" / "study" / "effects.csv").read_text()
