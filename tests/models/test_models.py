"""The report's CNNs: every row of both torchsummary tables, totals, knobs, ``augstudy model summary``."""

from __future__ import annotations

import pytest
import torch

from augstudy import models
from augstudy.errors import UserError

# (layer, output shape without batch, params): the report's final model table, row by row
FINAL_TABLE = [
    ("Conv2d-1", (32, 62, 62), 2_432), ("ReLU-2", (32, 62, 62), 0), ("BatchNorm2d-3", (32, 62, 62), 64),
    ("Conv2d-4", (32, 60, 60), 25_632), ("ReLU-5", (32, 60, 60), 0), ("MaxPool2d-6", (32, 30, 30), 0),
    ("BatchNorm2d-7", (32, 30, 30), 64), ("Conv2d-8", (96, 30, 30), 27_744), ("ReLU-9", (96, 30, 30), 0),
    ("BatchNorm2d-10", (96, 30, 30), 192), ("Conv2d-11", (128, 30, 30), 110_720), ("ReLU-12", (128, 30, 30), 0),
    ("MaxPool2d-13", (128, 15, 15), 0), ("BatchNorm2d-14", (128, 15, 15), 256),
    ("Conv2d-15", (256, 15, 15), 295_168), ("ReLU-16", (256, 15, 15), 0), ("BatchNorm2d-17", (256, 15, 15), 512),
    ("Conv2d-18", (384, 15, 15), 885_120), ("ReLU-19", (384, 15, 15), 0), ("MaxPool2d-20", (384, 3, 3), 0),
    ("BatchNorm2d-21", (384, 3, 3), 768), ("Flatten-22", (3456,), 0), ("Linear-23", (3456,), 11_947_392),
    ("ReLU-24", (3456,), 0), ("Dropout-25", (3456,), 0), ("Linear-26", (3456,), 11_947_392),
    ("ReLU-27", (3456,), 0), ("Dropout-28", (3456,), 0), ("Linear-29", (200,), 691_400),
]
FINAL_TOTAL = 25_934_856

FIRST_TABLE = [
    ("Conv2d-1", (32, 30, 30), 2_432), ("BatchNorm2d-2", (32, 30, 30), 64), ("Conv2d-3", (32, 28, 28), 25_632),
    ("ReLU-4", (32, 28, 28), 0), ("MaxPool2d-5", (32, 14, 14), 0), ("BatchNorm2d-6", (32, 14, 14), 64),
    ("Conv2d-7", (96, 14, 14), 27_744), ("BatchNorm2d-8", (96, 14, 14), 192),
    ("Conv2d-9", (256, 14, 14), 221_440), ("Dropout-10", (256, 14, 14), 0),
    ("BatchNorm2d-11", (256, 14, 14), 512), ("Conv2d-12", (384, 14, 14), 885_120), ("ReLU-13", (384, 14, 14), 0),
    ("MaxPool2d-14", (384, 7, 7), 0), ("BatchNorm2d-15", (384, 7, 7), 768), ("Flatten-16", (18816,), 0),
    ("Dropout-17", (18816,), 0), ("Linear-18", (20,), 376_340), ("ReLU-19", (20,), 0),
    ("BatchNorm1d-20", (20,), 40), ("Linear-21", (10,), 210),
]
FIRST_TOTAL = 1_540_558


def _rows(model, name):
    return [(r.layer, tuple(r.output_shape[1:]), r.params) for r in models.summarize(model, models.INPUT_SIZES[name])]


@pytest.fixture(scope="module")
def final_model():
    torch.manual_seed(0)
    return models.build_model("final")


def test_final_model_matches_the_report_table_row_by_row(final_model):
    rows = _rows(final_model, "final")
    assert len(rows) == len(FINAL_TABLE)
    for got, want in zip(rows, FINAL_TABLE):
        assert got == want
    assert models.count_parameters(final_model) == FINAL_TOTAL
    assert sum(p for _, _, p in FINAL_TABLE) == FINAL_TOTAL


def test_first_model_matches_the_report_table_row_by_row():
    model = models.build_model("first")
    assert _rows(model, "first") == FIRST_TABLE
    assert models.count_parameters(model) == FIRST_TOTAL


@pytest.mark.parametrize("knobs", [{"dropout": 0.0}, {"dropout": 0.5}, {"bn_order": "before"},
                                   {"activation": "leaky_relu"}])
@pytest.mark.parametrize("name,total", [("final", FINAL_TOTAL), ("first", FIRST_TOTAL)])
def test_knobs_keep_the_parameter_count(name, total, knobs):
    model = models.build_model(name, **knobs)
    assert models.count_parameters(model) == total
    if "dropout" in knobs:
        assert all(m.p == knobs["dropout"] for m in model.modules() if isinstance(m, torch.nn.Dropout))
    if knobs.get("activation") == "leaky_relu":
        assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
        assert any(isinstance(m, torch.nn.LeakyReLU) for m in model.modules())


def test_bn_before_pool_swaps_only_the_order():
    rows = _rows(models.build_model("final", bn_order="before"), "final")
    assert [r[0] for r in rows[5:7]] == ["BatchNorm2d-6", "MaxPool2d-7"]
    assert rows[5][1] == (32, 60, 60) and rows[6][1] == (32, 30, 30)
    assert rows[-1] == ("Linear-29", (200,), 691_400)


def test_classes_changes_only_the_last_layer(final_model):
    ten = _rows(models.build_model("final", num_classes=10), "final")
    base = _rows(final_model, "final")
    assert ten[:-1] == base[:-1]
    assert ten[-1] == ("Linear-29", (10,), 3456 * 10 + 10)
    assert models.count_parameters(models.build_model("final", num_classes=10)) == FINAL_TOTAL - 691_400 + 34_570


def test_forward_shapes_and_bad_knobs():
    x = torch.zeros(2, 3, 64, 64)
    model = models.build_model("final", num_classes=7).eval()
    with torch.no_grad():
        assert model(x).shape == (2, 7)
    with pytest.raises(UserError, match="bn_order"):
        models.build_model("final", bn_order="sideways")
    with pytest.raises(UserError, match="dropout"):
        models.build_model("final", dropout=1.0)


def test_model_summary_cli(cli_runner):
    result = cli_runner("model", "summary")
    assert result.exit_code == 0, result.output
    assert "Total params: 25,934,856" in result.stdout
    assert "Linear-23" in result.stdout and "[-1, 3456]" in result.stdout and "11,947,392" in result.stdout
    first = cli_runner("model", "summary", "first", "--classes", "5")
    assert first.exit_code == 0 and "Linear-21" in first.stdout and "[-1, 5]" in first.stdout
    assert f"Total params: {FIRST_TOTAL - 210 + 105:,}" in first.stdout
    bad = cli_runner("model", "summary", "--classes", "1")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1


def test_model_summary_console_script(run_console):
    result = run_console("model", "summary", "final", "--dropout", "0.5", "--bn-order", "before")
    assert result.returncode == 0, result.stderr
    assert "Total params: 25,934,856" in result.stdout
    assert "BatchNorm2d-6" in result.stdout and "MaxPool2d-7" in result.stdout


# ----------------------------------------------------------------------------- architecture knobs
BASELINE_KNOBS = {"classifier_depth": 2, "width": 1.0, "conv_regularizer": "batchnorm", "conv_dropout": 0.2,
                  "pool_stride": 5}
NEW_FACTORS = ("classifier_depth", "width", "conv_regularizer", "pool_stride")


def test_baseline_knobs_given_explicitly_reproduce_the_report_table(final_model):
    model = models.build_model("final", **BASELINE_KNOBS)
    assert _rows(model, "final") == FINAL_TABLE
    assert models.count_parameters(model) == FINAL_TOTAL
    assert {k: models.KNOBS[k].default for k in BASELINE_KNOBS} == BASELINE_KNOBS


def _hand_flops(model, input_size) -> int:
    """2 x multiply-accumulates of every conv and linear layer, from the layer table's shapes."""
    rows = models.summarize(model, input_size)
    leaves = [m for m in model.modules() if not list(m.children())]
    total = 0
    for module, row in zip(leaves, rows):
        if isinstance(module, torch.nn.Conv2d):
            k = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
            total += 2 * k * module.out_channels * row.output_shape[2] * row.output_shape[3]
        elif isinstance(module, torch.nn.Linear):
            total += 2 * module.in_features * module.out_features
    return total


def test_flop_counter_gives_the_hand_count_of_conv_and_linear_macs(final_model):
    assert models.count_flops(final_model, (3, 64, 64)) == _hand_flops(final_model, (3, 64, 64)) == 1_031_602_944
    first = models.build_model("first")
    assert models.count_flops(first, (3, 32, 32)) == _hand_flops(first, (3, 32, 32))
    wide = models.build_model("final", width=0.5, pool_stride=3)
    assert models.count_flops(wide, (3, 64, 64)) == _hand_flops(wide, (3, 64, 64))


def _documented_counts(factor: str) -> dict[str, int]:
    """``{level: N}`` from each level line's ``N parameters`` comment in ablations/<factor>.yaml."""
    import re

    from augstudy.ablation.spec import study_spec as spec

    levels = spec.load_factor(factor).levels
    counts = {}
    for line in spec.load_factor(factor).path.read_text().splitlines():
        head = line.strip().split(":")[0]
        found = re.search(r"([\d,]{9,}) parameters", line)
        if head in levels and found:
            counts[head] = int(found.group(1).replace(",", ""))
    assert set(counts) == set(levels), f"{factor}.yaml: every level's comment states its parameter count"
    return counts


@pytest.mark.parametrize("factor", NEW_FACTORS)
def test_every_new_factor_level_builds_runs_and_matches_its_documented_count(factor):
    from augstudy.ablation.spec import study_spec as spec

    documented = _documented_counts(factor)
    factor_spec = spec.load_factor(factor)
    x = torch.randn(2, 3, 64, 64)
    for level, override in factor_spec.levels.items():
        model = models.build_model("final", **override["model"])
        with torch.no_grad():
            assert model.eval()(x).shape == (2, 200)
        assert models.count_parameters(model) == documented[level], f"{factor}={level}"
        if level == factor_spec.baseline_level:
            assert documented[level] == FINAL_TOTAL and _rows(model, "final") == FINAL_TABLE


def test_each_knob_changes_what_its_docstring_says():
    conv_channels = lambda m: [c.out_channels for c in m.modules() if isinstance(c, torch.nn.Conv2d)]  # noqa: E731
    assert conv_channels(models.build_model("final", width=1.5)) == [48, 48, 144, 192, 384, 576]
    assert conv_channels(models.build_model("final", width=0.5)) == [16, 16, 48, 64, 128, 192]
    for depth in (0, 1):
        rows = _rows(models.build_model("final", classifier_depth=depth), "final")
        assert [r[0].split("-")[0] for r in rows].count("Linear") == depth + 1
        assert rows[-1][1] == (200,) and rows[21][0] == "Flatten-22"
    pooled = _rows(models.build_model("final", pool_stride=2), "final")
    assert pooled[19] == ("MaxPool2d-20", (384, 7, 7), 0) and pooled[21] == ("Flatten-22", (18816,), 0)
    assert pooled[22] == ("Linear-23", (3456,), 18816 * 3456 + 3456)
    dropped = models.build_model("final", conv_regularizer="dropout", conv_dropout=0.1)
    rows = _rows(dropped, "final")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in dropped.modules())
    assert [r[0] for r in rows].count("BatchNorm2d-3") == 0 and rows[2][0] == "Dropout-3"
    conv_drops = [m.p for m in list(dropped)[:21] if isinstance(m, torch.nn.Dropout)]
    assert conv_drops == [0.1] * 6
    with pytest.raises(UserError, match="conv_dropout"):
        models.build_model("final", conv_dropout=0.1)                  # meaningless with batchnorm
    with pytest.raises(UserError, match="pool_stride"):
        models.build_model("final", pool_stride=0)


def test_first_model_refuses_the_final_only_knobs_by_name():
    with pytest.raises(UserError, match=r"model 'first' does not accept knob 'width'.*dropout, bn_order, activation"):
        models.build_model("first", width=1.5)
    assert models.count_parameters(models.build_model("first", width=1.0)) == FIRST_TOTAL   # default: fine


def test_model_summary_set_prints_a_level(cli_runner):
    wide = cli_runner("model", "summary", "final", "--set", "width=1.5")
    assert wide.exit_code == 0, wide.output
    assert "Total params: 33,588,776" in wide.stdout and "[-1, 576, 15, 15]" in wide.stdout
    assert "Forward FLOPs per image: 2,257,764,480" in wide.stdout
    both = cli_runner("model", "summary", "final", "--set", "pool_stride=3", "--set", "classifier_depth=1")
    assert both.exit_code == 0 and "[-1, 384, 5, 5]" in both.stdout and "Linear-29" not in both.stdout
    assert "Total params: 35,221,128" in both.stdout           # 1,348,672 conv + 33,181,056 + 691,400
    conv = cli_runner("model", "summary", "--set", "conv_regularizer=dropout", "--set", "conv_dropout=0.1")
    assert conv.exit_code == 0 and "Total params: 25,933,000" in conv.stdout
    for args, words in [(("--set", "depth=3"), ["'depth'", "model 'final'", "classifier_depth", "pool_stride"]),
                        (("first", "--set", "width=2"), ["'width'", "model 'first'", "dropout, bn_order, activation"]),
                        (("--set", "width=wide"), ["'width'", "must be a number"]),
                        (("--set", "width"), ["KNOB=VALUE"])]:
        bad = cli_runner("model", "summary", *args)
        assert bad.exit_code == 2 and bad.stderr.startswith("error: "), (args, bad.output)
        assert len(bad.stderr.strip().splitlines()) == 1
        assert all(w in bad.stderr for w in words), (args, bad.stderr)
