"""``StudyOptions``: one validator for ``augstudy ablate``'s flags and ``augstudy.ablate``'s keywords.

Every field's rule refuses in one line naming the option as the caller spells it; the CLI and the API
accept and refuse the same values (both collected up to ``run_study``, which is replaced here by a
recorder, so nothing trains); a valid object round-trips through ``model_dump`` and JSON.
"""

from __future__ import annotations

import math
import re
import types

import click
import pytest
from pydantic import ValidationError

import augstudy
from augstudy.ablation import runner
from augstudy.ablation.spec.options import (EXECUTORS, KEYWORDS, METRICS, PRECISIONS, StudyOptions,
                                            describe_error)
from augstudy.cli.ablate import API_ONLY, CLI_NAMING, FLAGS, ablate_command, collect_options
from augstudy.errors import UserError

#: field -> a value its rule refuses (every field of StudyOptions, checked below)
REFUSED = {
    "factor": "", "by": "", "seeds": 0, "start_seeds": 1, "max_seeds": 1, "seed_batch": 0, "sesoi": 100.0,
    "budget": "", "data": "", "device": "gpu", "metric": "top5", "out": "", "specs_dir": "", "model": 42,
    "budget_override": "tiny", "report": "yes", "prune_checkpoints": 1, "keep_checkpoints": "no",
    "checkpoint_every": -1.0, "precision": "fp16", "compile": "true", "executor": "spark", "ray_address": "",
    "gpus_per_run": -0.5, "max_retries": -1, "allow_data_errors": None,
}


def test_the_table_covers_every_field_and_every_field_has_a_flag_or_is_api_only():
    fields = set(StudyOptions.model_fields)
    assert set(REFUSED) == fields
    assert set(FLAGS) | set(API_ONLY) == fields and not set(FLAGS) & set(API_ONLY)
    flags = {opt for param in ablate_command.params for opt in param.opts + param.secondary_opts}
    assert {flag for key, flag in FLAGS.items() if key != "factor"} <= flags


@pytest.mark.parametrize("key", sorted(REFUSED))
def test_each_rule_refuses_in_one_line_naming_the_option(key):
    values = {"factor": "dropout", key: REFUSED[key]}
    for naming, name in ((KEYWORDS, key), (CLI_NAMING, FLAGS.get(key, key))):
        with pytest.raises(UserError) as refused:
            StudyOptions.collect(values, naming)
        line = str(refused.value)
        assert "\n" not in line and "Traceback" not in line
        assert line.startswith((name, f"missing {name}")), (naming.style, line)
        if key not in ("factor", "model"):   # the rest say their fix, from the field's rule
            assert any(word in line for word in ("must", "need", "neither", "at least", "name a")), line


@pytest.mark.parametrize("values, cli_line, api_line", [
    ({"seeds": "many"}, "--seeds: 'many' is neither a number of seeds nor auto",
     "seeds: 'many' is neither a number of seeds nor auto"),
    ({"seeds": [0, 0]}, "--seeds [0, 0]: need at least 1 distinct non-negative seed",
     "seeds=[0, 0]: need at least 1 distinct non-negative seed"),
    ({"seeds": "auto", "start_seeds": 4, "max_seeds": 3}, "--max-seeds 3 is below --start-seeds 4; raise --max-seeds",
     "max_seeds=3 is below start_seeds=4; raise max_seeds"),
    ({"start_seeds": 1}, "--start-seeds 1: --seeds auto needs at least 2 seeds",
     "start_seeds=1: seeds='auto' needs at least 2 seeds"),
    ({"sesoi": 0.0}, "--sesoi 0.0: must be a number of accuracy points in (0, 100)",
     "sesoi=0.0: must be a number of accuracy points in (0, 100)"),
    ({"metric": "top5"}, "--metric top5: must be one of last3, best, final",
     "metric='top5': must be one of last3, best, final"),
    ({"gpus_per_run": 0.5}, "--gpus-per-run only apply with --executor ray",
     "gpus_per_run only apply with executor='ray'"),
    ({"by": "all"}, "--by: a two-factor study crosses two named factors; `all` is not one",
     "by: a two-factor study crosses two named factors; `all` is not one"),
    ({"by": "dropout"}, "--by dropout: the same factor as FACTOR", "by='dropout': the same factor as factor"),
    ({"prune_checkpoints": True, "keep_checkpoints": True},
     "--prune-checkpoints and --keep-checkpoints contradict each other",
     "prune_checkpoints and keep_checkpoints contradict each other"),
    ({"factor": None}, "missing FACTOR: name a factor", "missing factor: name a factor"),
    ({"sead": 3}, "sead 3: unknown option", "sead=3: unknown option"),
])
def test_the_message_names_the_option_as_the_caller_spells_it(values, cli_line, api_line):
    for naming, expected in ((CLI_NAMING, cli_line), (KEYWORDS, api_line)):
        with pytest.raises(UserError) as refused:
            StudyOptions.collect({"factor": "dropout", **values}, naming)
        assert str(refused.value).startswith(expected), str(refused.value)


def test_the_first_problem_is_reported_an_unknown_option_before_the_rest():
    with pytest.raises(ValidationError) as many:
        StudyOptions.model_validate({"factor": "x", "metric": "top5", "seeds": 0, "colour": 1})
    assert describe_error(many.value, {"factor": "x", "metric": "top5", "seeds": 0, "colour": 1}).startswith(
        "colour=1: unknown option")
    with pytest.raises(UserError, match=r"^seeds=0: need at least 1 seed$"):   # field order: seeds before metric
        StudyOptions.collect({"factor": "x", "metric": "top5", "seeds": 0})


# ----------------------------------------------------------------------------- CLI and API, side by side
class _Collected(Exception):
    pass


@pytest.fixture
def collected(monkeypatch):
    """Replace ``run_study`` by a recorder: what the CLI and the API hand it, without training."""
    seen: list = []

    def record(options, **runtime):
        seen.append((options, runtime))
        if runtime.get("echo") is click.echo:   # the CLI: carry on as if the study finished
            return types.SimpleNamespace(counts={})
        raise _Collected  # the API would now load the study folder

    monkeypatch.setattr(runner, "run_study", record)
    return seen


def _via_cli(cli_runner, collected, args: list[str]):
    collected.clear()
    result = cli_runner("ablate", "dropout", *args)
    if result.exit_code == 0:
        return collected[-1][0]
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _via_api(collected, kwargs: dict):
    collected.clear()
    try:
        augstudy.ablate("dropout", verbose=False, **kwargs)
    except _Collected:
        return collected[-1][0]
    except UserError as exc:
        return f"error: {exc}"
    raise AssertionError("ablate returned without calling run_study")


SAME_VALUES = [   # (CLI flags, API keywords) for the same values
    ([], {}),
    (["--seeds", "5"], {"seeds": 5}), (["--seeds", "0"], {"seeds": 0}), (["--seeds", "-2"], {"seeds": -2}),
    (["--seeds", "auto"], {"seeds": "auto"}), (["--seeds", "AUTO"], {"seeds": "AUTO"}),
    (["--seeds", "2.5"], {"seeds": "2.5"}),
    (["--seeds", "auto", "--start-seeds", "2", "--max-seeds", "4", "--seed-batch", "1"],
     {"seeds": "auto", "start_seeds": 2, "max_seeds": 4, "seed_batch": 1}),
    (["--seeds", "auto", "--start-seeds", "5", "--max-seeds", "4"],
     {"seeds": "auto", "start_seeds": 5, "max_seeds": 4}),
    (["--start-seeds", "1"], {"start_seeds": 1}), (["--seed-batch", "0"], {"seed_batch": 0}),
    (["--sesoi", "0.5"], {"sesoi": 0.5}), (["--sesoi", "0"], {"sesoi": 0.0}), (["--sesoi", "100"], {"sesoi": 100.0}),
    (["--sesoi", "nan"], {"sesoi": math.nan}),
    (["--metric", "best"], {"metric": "best"}), (["--metric", "top5"], {"metric": "top5"}),
    (["--precision", "bf16"], {"precision": "bf16"}), (["--precision", "fp16"], {"precision": "fp16"}),
    (["--device", "cuda:1"], {"device": "cuda:1"}), (["--device", "gpu"], {"device": "gpu"}),
    (["--checkpoint-every", "0"], {"checkpoint_every": 0.0}),
    (["--checkpoint-every", "-1"], {"checkpoint_every": -1.0}),
    (["--checkpoint-every", "inf"], {"checkpoint_every": math.inf}),
    (["--executor", "spark"], {"executor": "spark"}),
    (["--gpus-per-run", "0.5"], {"gpus_per_run": 0.5}),
    (["--executor", "ray", "--gpus-per-run", "0.5", "--ray-address", "auto", "--max-retries", "0"],
     {"executor": "ray", "gpus_per_run": 0.5, "ray_address": "auto", "max_retries": 0}),
    (["--executor", "ray", "--max-retries", "-1"], {"executor": "ray", "max_retries": -1}),
    (["--by", "weight_decay"], {"by": "weight_decay"}), (["--by", "dropout"], {"by": "dropout"}),
    (["--by", "all"], {"by": "all"}),
    (["--out", ""], {"out": ""}), (["--specs", ""], {"specs_dir": ""}), (["--data", ""], {"data": ""}),
    (["--prune-checkpoints", "--keep-checkpoints"], {"prune_checkpoints": True, "keep_checkpoints": True}),
    (["--no-report", "--compile", "--allow-data-errors", "--budget", "short"],
     {"report": False, "compile": True, "allow_data_errors": True, "budget": "short"}),
]


@pytest.mark.parametrize("cli_args, api_kwargs", SAME_VALUES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_the_cli_and_the_api_accept_and_refuse_the_same_values(cli_runner, collected, cli_args, api_kwargs):
    from_cli, from_api = _via_cli(cli_runner, collected, cli_args), _via_api(collected, api_kwargs)
    if isinstance(from_cli, StudyOptions) or isinstance(from_api, StudyOptions):
        assert from_cli == from_api                     # accepted by both, as the same options
    else:
        # refused by both for the same option, each line naming it the way that caller spells it
        flag = re.search(r"--[a-z-]+", from_cli).group(0)
        assert flag in cli_args, from_cli
        key = {v: k for k, v in FLAGS.items()}[flag]
        assert from_api.startswith(f"error: {key}"), (from_cli, from_api)


def test_an_existing_file_is_refused_as_a_study_folder_by_both(cli_runner, collected, tmp_path):
    note = tmp_path / "notes.txt"
    note.write_text("mine")
    assert _via_cli(cli_runner, collected, ["--out", str(note)]).startswith(f"error: --out {note}: must name a folder")
    assert _via_api(collected, {"out": note}).startswith(f"error: out={note}: must name a folder")
    assert note.read_text() == "mine"


def test_the_api_keeps_runtime_objects_apart_from_the_options(collected):
    executor = object()
    options = _via_api(collected, {"seeds": range(2, 5), "executor": executor, "model": "user_models:tiny_cnn",
                                   "budget_override": {"train": {"epochs": 1}}})
    runtime = collected[-1][1]
    assert runtime["executor"] is executor and options.executor == "local"
    assert options.seeds == (2, 3, 4) and options.seed_list == [2, 3, 4]
    assert options.arm_override == {"train": {"epochs": 1}, "model": {"name": "user_models:tiny_cnn"}}
    assert options.budget_override == {"train": {"epochs": 1}}                      # the given dict, untouched


def test_run_study_takes_options_or_keywords_never_both():
    with pytest.raises(TypeError, match="as StudyOptions and as keywords"):
        runner.run_study(StudyOptions(factor="dropout"), seeds=2)
    with pytest.raises(UserError, match=r"^seeds=0: need at least 1 seed$"):   # keywords: the API's names
        runner.run_study("dropout", seeds=0)


# ----------------------------------------------------------------------------- the object itself
def test_a_valid_object_round_trips_and_is_frozen(tmp_path):
    options = StudyOptions.collect({
        "factor": "dropout", "by": "weight_decay", "seeds": [3, 1, 2], "sesoi": 0.5, "budget": "short",
        "data": tmp_path / "images", "device": "cuda:0", "metric": "best", "out": tmp_path / "study",
        "specs_dir": str(tmp_path / "specs"), "budget_override": {"train": {"epochs": 2}}, "report": False,
        "keep_checkpoints": True, "checkpoint_every": 30, "precision": "bf16", "compile": True, "executor": "ray",
        "ray_address": "auto", "gpus_per_run": 0.25, "max_retries": 0, "allow_data_errors": True})
    assert options.data == str(tmp_path / "images") and options.specs_dir == tmp_path / "specs"
    assert options.seeds == (3, 1, 2) and options.seed_list == [3, 1, 2] and options.checkpoint_every == 30.0
    assert StudyOptions.model_validate(options.model_dump()) == options
    assert StudyOptions.model_validate_json(options.model_dump_json()) == options
    with pytest.raises(ValidationError):
        options.seeds = 5  # frozen: validated once, never patched
    auto = StudyOptions(factor="lr", seeds="auto", start_seeds=4)
    assert auto.auto_seeds and auto.seed_list == [0, 1, 2, 3]
    assert StudyOptions.model_validate_json(auto.model_dump_json()) == auto


def test_help_shows_the_bounds_and_choices_the_options_check():
    params = {p.name: p for p in ablate_command.params}
    fields = StudyOptions.model_fields

    def bound(key, kind):
        return next((getattr(m, kind) for m in fields[key].metadata if getattr(m, kind, None) is not None), None)

    for key, param in (("start_seeds", "start_seeds"), ("max_seeds", "max_seeds"), ("seed_batch", "seed_batch"),
                       ("checkpoint_every", "checkpoint_every"), ("gpus_per_run", "gpus_per_run"),
                       ("max_retries", "max_retries")):
        assert params[param].type.min == bound(key, "ge"), key
    assert (params["sesoi"].type.min, params["sesoi"].type.max) == (bound("sesoi", "gt"), bound("sesoi", "lt"))
    assert params["sesoi"].type.min_open and params["sesoi"].type.max_open
    assert list(params["metric"].type.choices) == list(METRICS)
    assert list(params["precision"].type.choices) == list(PRECISIONS)
    assert list(params["executor_name"].type.choices) == list(EXECUTORS)
    assert params["checkpoint_every"].default == fields["checkpoint_every"].default
    assert params["max_retries"].default == fields["max_retries"].default
    for key in ("start_seeds", "max_seeds", "seed_batch", "budget", "device", "metric", "precision"):
        assert params[key].default == fields[key].default, key


def test_the_defaults_of_the_command_and_the_api_are_the_options_defaults(cli_runner, collected):
    defaults = StudyOptions(factor="dropout")
    assert _via_cli(cli_runner, collected, []) == defaults == _via_api(collected, {})
    assert collect_options("dropout", seeds="3", start_seeds=3, max_seeds=20, seed_batch=2, sesoi=None,
                           budget="smoke", data=None, device="auto", metric="last3", out=None, no_report=False,
                           specs=None, prune_checkpoints=False, keep_checkpoints=False, checkpoint_every=120.0,
                           precision="auto", compile_model=False, executor_name="local", ray_address=None,
                           gpus_per_run=None, max_retries=2, allow_data_errors=False, by=None) == defaults
