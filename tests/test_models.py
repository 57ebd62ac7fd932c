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
