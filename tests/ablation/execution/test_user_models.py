"""Your own model: import paths and callables with the knobs they declare, refused knobs, timm, a whole study."""

from __future__ import annotations

import sys

import pytest
import torch

import user_models
from augstudy import models
from augstudy.ablation.spec import study_spec as spec
from augstudy.errors import MissingDependencyError, UserError
from study_helpers import DROPOUT_FACTOR, noise_dataset, write_specs

TINY = "user_models:tiny_cnn"


def _tiny_params(channels: int, classes: int) -> int:
    return 3 * 9 * channels + channels + channels * 16 * classes + classes


def test_import_path_builds_with_the_knobs_it_declares():
    assert models.accepted_knobs(TINY) == ("dropout", "width")
    model = models.build_model(TINY, num_classes=5, width=2.0, dropout=0.25)
    assert models.count_parameters(model) == _tiny_params(16, 5)
    assert [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)] == [0.25]
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 3, 64, 64)).shape == (2, 5)
    # knobs the config leaves out are passed at augstudy's default, never the factory's own
    default = models.build_model(TINY, num_classes=5)
    assert models.count_parameters(default) == _tiny_params(8, 5)
    assert [m.p for m in default.modules() if isinstance(m, torch.nn.Dropout)] == [0.3]


def test_a_knob_the_model_does_not_declare_is_refused_by_name():
    with pytest.raises(UserError, match=r"model 'user_models:tiny_cnn' does not accept knob 'pool_stride'"):
        models.check_model_knobs(TINY, {"pool_stride": 3})
    with pytest.raises(UserError, match=r"model 'user_models:tiny_cnn' has no knob 'depth' "
                                         r"\(its knobs: dropout, width\)"):
        models.build_model(TINY, num_classes=3, depth=3)
    # at its default an undeclared knob is harmless and not passed on
    assert models.check_model_knobs(TINY, {"name": TINY, "pool_stride": 5, "bn_order": "after"}) == \
        {"dropout": 0.3, "width": 1.0}


def test_callables_and_kwargs_factories():
    probe = models.build_model(user_models.LinearProbe, num_classes=4, classifier_depth=1)
    assert models.count_parameters(probe) == (12 * 16 + 16) + (16 * 4 + 4)
    with pytest.raises(UserError, match=r"user_models:LinearProbe' does not accept knob 'width'"):
        models.build_model(user_models.LinearProbe, num_classes=4, width=0.5)
    anything = models.build_model("user_models:takes_every_knob", num_classes=2, width=1.5)
    assert anything.knobs == {**models.knob_defaults(), "width": 1.5}


def test_a_callable_is_stored_by_its_import_path():
    assert models.model_reference(user_models.LinearProbe) == "user_models:LinearProbe"
    assert models.model_reference(TINY) == TINY
    with pytest.raises(UserError, match="a callable must be reachable as module:name"):
        models.model_reference(lambda num_classes: torch.nn.Linear(3, num_classes))


@pytest.mark.parametrize("name,message", [
    ("user_models:no_num_classes", "must accept a 'num_classes' keyword argument"),
    ("user_models:not_a_module", "returned str, not a torch nn.Module"),
    ("user_models:missing", "module 'user_models' has no attribute 'missing'"),
    ("no_such_package.models:net", "cannot import 'no_such_package.models'"),
    ("final2", "not a model name: use final, first, timm:<model name>"),
])
def test_bad_user_models_are_one_clear_error(name, message):
    with pytest.raises(UserError, match=message):
        models.build_model(name, num_classes=2)


def test_summary_and_flops_work_for_a_user_model():
    model = models.build_model(TINY, num_classes=10, width=0.5)
    rows = models.summarize(model, models.input_size_for(TINY))
    assert [(r.layer, r.output_shape[1:], r.params) for r in rows] == [
        ("Conv2d-1", (4, 64, 64), 112), ("ReLU-2", (4, 64, 64), 0), ("AdaptiveAvgPool2d-3", (4, 4, 4), 0),
        ("Flatten-4", (64,), 0), ("Dropout-5", (64,), 0), ("Linear-6", (10,), 650)]
    assert models.count_flops(model, (3, 64, 64)) == 2 * 27 * 4 * 64 * 64 + 2 * 64 * 10


def test_model_summary_cli_for_a_user_model(cli_runner, run_console, repo_root):
    result = cli_runner("model", "summary", TINY, "--set", "width=2", "--classes", "5")
    assert result.exit_code == 0, result.output
    assert f"Total params: {_tiny_params(16, 5):,}" in result.stdout and "Forward FLOPs per image" in result.stdout
    bad = cli_runner("model", "summary", TINY, "--set", "classifier_depth=1")
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "'classifier_depth'" in bad.stderr and f"model '{TINY}'" in bad.stderr and "dropout, width" in bad.stderr
    # the console script finds a module in the current folder
    console = run_console("model", "summary", TINY, "--classes", "3", cwd=repo_root / "tests")
    assert console.returncode == 0, console.stderr
    assert f"Total params: {_tiny_params(8, 3):,}" in console.stdout


def _user_specs(folder, factors, name=TINY):
    return write_specs(folder, factors, baseline_changes={"model": {"name": name}})


def test_spec_resolution_refuses_an_undeclared_knob_before_any_training(tmp_path):
    specs = _user_specs(tmp_path / "specs", {"pool": {"baseline_level": 5, "levels": {
        5: {"model": {"pool_stride": 5}}, 3: {"model": {"pool_stride": 3}}}}})
    with pytest.raises(UserError, match=r"pool\.yaml: levels\.3: model 'user_models:tiny_cnn' does not accept "
                                         r"knob 'pool_stride'"):
        spec.resolve_study_arms("pool", "tiny", specs)
    bad_name = _user_specs(tmp_path / "bad", {"drop": DROPOUT_FACTOR}, name="user_models:missing")
    with pytest.raises(UserError, match="has no attribute 'missing'"):
        spec.resolve_study_arms("drop", "tiny", bad_name)


def test_the_shipped_width_factor_resolves_and_keeps_the_baseline_hash():
    arms = spec.resolve_study_arms("width", "full")
    assert [a.level for a in arms] == ["1", "0.5", "1.5"]
    assert arms[0].config_hash == spec.resolve_study_arms("dropout", "full")[0].config_hash
    assert "width" not in arms[0].config["model"] and arms[2].config["model"]["width"] == 1.5
    conv = {a.level: a.config["model"] for a in spec.resolve_study_arms("conv_regularizer", "full")}
    assert conv["dropout0.2"]["conv_dropout"] == 0.2 and "conv_dropout" not in conv["batchnorm"]


@pytest.mark.usefixtures("one_torch_thread")
def test_a_user_model_trains_through_the_whole_study_path(tmp_path):
    from augstudy.ablation.runner import run_study

    specs = _user_specs(tmp_path / "specs", {"width": {"baseline_level": 1, "levels": {
        1: {"model": {"width": 1.0}}, 2: {"model": {"width": 2.0}}}}})
    assert {a.config["model"]["name"] for a in spec.resolve_study_arms("width", "tiny", specs)} == {TINY}
    lines: list[str] = []
    result = run_study("width", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu",
                       out=tmp_path / "study", specs_dir=specs, report=False, echo=lines.append)
    assert result.counts["done"] == 2 and result.counts["failed"] == 0, "\n".join(lines)
    assert "width=2" in result.table


def test_timm_missing_is_a_clear_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)          # import timm now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'augstudy\[timm\]'"):
        models.build_model("timm:resnet18", num_classes=3)


def test_timm_model_builds_without_downloading_weights():
    import timm  # installed by make test (the test extra); a missing timm fails here, loudly

    model = models.build_model("timm:resnet18", num_classes=7, dropout=0.1)
    reference = timm.create_model("resnet18", pretrained=False, num_classes=7)
    assert models.count_parameters(model) == models.count_parameters(reference)
    assert model.drop_rate == 0.1
    with torch.no_grad():
        assert model.eval()(torch.zeros(2, 3, 64, 64)).shape == (2, 7)
    assert models.count_flops(model, (3, 64, 64)) > 0
    with pytest.raises(UserError, match=r"model 'timm:resnet18' does not accept knob 'width' .*its knobs: dropout"):
        models.build_model("timm:resnet18", num_classes=7, width=2.0)
    with pytest.raises(UserError, match="timm has no model 'not_a_timm_model'"):
        models.build_model("timm:not_a_timm_model", num_classes=7)
