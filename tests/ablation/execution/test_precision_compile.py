"""``--precision auto|fp32|bf16`` and ``--compile``: what they resolve to, that a study pins its
precision, and that compiling never changes a verdict or fails a study."""

from __future__ import annotations

import json
import sqlite3

import pytest
import torch

from augstudy.ablation.execution.precision import CompiledForward, cpu_has_native_bf16, resolve_precision
from augstudy.ablation.runner import run_study
from augstudy.errors import UserError
from study_helpers import DROPOUT_FACTOR, noise_dataset, write_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _specs(folder):
    return write_specs(folder, {"drop": DROPOUT_FACTOR}, baseline_changes={"model": {"name": "user_models:tiny_cnn"}})


def _study(specs, out, lines=None, seeds=1, **kwargs):
    return run_study("drop", seeds=seeds, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                     specs_dir=specs, report=False, echo=(lines.append if lines is not None else lambda s: None),
                     budget_override={"train": {"epochs": 1, "batch_size": 4}}, **kwargs)


def test_auto_is_bf16_on_cuda_and_on_cpus_with_native_bf16_only(tmp_path, monkeypatch):
    with_flag, without = tmp_path / "epyc", tmp_path / "old"
    with_flag.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert cpu_has_native_bf16(with_flag) and not cpu_has_native_bf16(without)
    from augstudy.ablation.execution import precision

    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert resolve_precision("auto", "cpu") == "fp32" and resolve_precision("auto", "cuda:0") == "bf16"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert resolve_precision(None, torch.device("cpu")) == "bf16"
    assert resolve_precision("fp32", "cuda") == "fp32"
    with pytest.raises(UserError, match="--precision fp16: must be one of auto, fp32, bf16"):
        resolve_precision("fp16", "cpu")


def test_bf16_on_the_cpu_trains_is_recorded_and_a_rerun_in_fp32_is_refused_in_one_line(tmp_path):
    specs = _specs(tmp_path / "specs")
    lines: list[str] = []
    bf16 = _study(specs, tmp_path / "bf16", lines, precision="bf16")
    assert bf16.complete and "precision: bf16; checkpoints every 120 s" in lines
    assert json.loads((tmp_path / "bf16" / "study.json").read_text())["precision"] == "bf16"
    from augstudy.report import build_report

    assert "cpu, bf16" in build_report(tmp_path / "bf16")["md"].read_text()   # the report says so too
    fp32 = _study(specs, tmp_path / "fp32", precision="fp32")
    assert json.loads((tmp_path / "fp32" / "study.json").read_text())["precision"] == "fp32"
    losses = [[r[0] for r in sqlite3.connect(tmp_path / name / "study.sqlite").execute(
        "SELECT train_loss FROM epochs ORDER BY run_id")] for name in ("bf16", "fp32")]
    assert losses[0] != losses[1]                                     # bf16 autocast really ran
    with pytest.raises(UserError) as refused:
        _study(specs, tmp_path / "bf16", precision="fp32")
    message = str(refused.value)
    assert "\n" not in message and "trains in bf16" in message and "--precision bf16" in message
    lines.clear()
    _study(specs, tmp_path / "bf16", lines, precision="auto", seeds=2)   # auto keeps the study's precision
    assert "precision: bf16; checkpoints every 120 s" in lines


def test_a_study_from_before_precisions_were_pinned_is_fp32_on_the_cpu(tmp_path):
    specs, out = _specs(tmp_path / "specs"), tmp_path / "old"
    _study(specs, out, precision="fp32")
    with sqlite3.connect(out / "study.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key='precision'")
    with pytest.raises(UserError, match="trains in fp32"):
        _study(specs, out, precision="bf16")


def test_a_compile_failure_falls_back_to_eager_with_one_warning_line(tmp_path, monkeypatch, capsys):
    def broken(model, **kwargs):
        def call(*args):
            raise RuntimeError("inductor: no C++ compiler\nmore detail")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    monkeypatch.setattr(CompiledForward, "reported", set())
    result = _study(_specs(tmp_path / "specs"), tmp_path / "study", seeds=2, compile=True)
    assert result.complete and result.counts["done"] == 4
    warnings = [line for line in capsys.readouterr().err.splitlines() if "--compile" in line]
    assert warnings == ["warning: --compile: torch.compile failed (RuntimeError: inductor: no C++ compiler); "
                        "training eagerly instead"]
    assert json.loads((tmp_path / "study" / "study.json").read_text())["compile"] is True


@pytest.mark.slow
def test_compile_and_eager_give_the_same_verdicts_on_a_tiny_study(tmp_path):
    """Real torch.compile (inductor on the CPU: tens of seconds to compile the tiny model)."""
    specs = _specs(tmp_path / "specs")
    lines: list[str] = []
    eager = _study(specs, tmp_path / "eager", seeds=2, precision="fp32")
    compiled = _study(specs, tmp_path / "compiled", lines, seeds=2, precision="fp32", compile=True)
    assert not any("--compile" in line for line in lines)
    assert {r.arm: r.verdict for r in compiled.effects.rows} == {r.arm: r.verdict for r in eager.effects.rows}
    metrics = [{(r[0], r[1]): r[2] for r in sqlite3.connect(tmp_path / name / "study.sqlite").execute(
        "SELECT arm, seed, metric FROM runs")} for name in ("eager", "compiled")]
    assert metrics[0].keys() == metrics[1].keys()
    assert all(abs(metrics[0][k] - metrics[1][k]) <= 1 / 16 for k in metrics[0])   # at most one val image apart


def test_the_cli_refuses_a_rerun_in_another_precision_with_one_line(tmp_path, cli_runner):
    from study_helpers import write_image_folder

    data = write_image_folder(noise_dataset(8, 8), tmp_path / "data")
    common = ["ablate", "drop", "--specs", str(_specs(tmp_path / "specs")), "--budget", "tiny", "--data", str(data),
              "--out", str(tmp_path / "study"), "--device", "cpu", "--no-report", "--seeds", "1"]
    first = cli_runner(*common, "--precision", "bf16", "--checkpoint-every", "30", "--keep-checkpoints")
    assert first.exit_code == 0, first.output
    assert "precision: bf16; checkpoints every 30 s" in first.stdout and "disk: " in first.stdout
    assert len(list((tmp_path / "study" / "checkpoints").glob("*.pt"))) == 2         # --keep-checkpoints
    again = cli_runner(*common, "--precision", "fp32")
    assert again.exit_code == 2
    assert again.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'study'}: this study trains in bf16 (study.json precision); rerun with --precision bf16 "
        f"(or auto), or pass --out DIR for a new study"]
