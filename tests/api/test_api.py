"""The Python API as users call it: the README walk-through, in-memory data, user models, load_study.

Studies here are tiny (16 images of 64x64, 2 epochs, a small user model); the README's own code runs against a spec
folder whose ``smoke`` budget is that small (``$AUGSTUDY_ABLATIONS_DIR``), so its text runs verbatim.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from torch import nn

import augstudy
from augstudy.errors import UserError
from study_helpers import DROPOUT_FACTOR, REPO, interrupted_after_one_epoch, noise_dataset, write_image_folder, \
    write_specs

#: a ``smoke`` budget of 16 train / 16 val images, 2 epochs
TINY_SMOKE = {"data": {"train_subset": 16, "val_subset": 16}, "train": {"epochs": 2, "batch_size": 8,
                                                                         "eval_batch_size": 16},
              "schedule": {"warmup": 0.0}}
TINY_ALL = {"data": {"train_subset": None, "val_subset": None},
            "train": {"epochs": 2, "batch_size": 8, "eval_batch_size": 16}, "schedule": {"warmup": 0.0}}


def readme_api_blocks() -> list[str]:
    """The ```python blocks of the README's "From Python" section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("## From Python")
    end = text.find("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end if end > 0 else None], flags=re.S)


def small_factory(num_classes: int, dropout: float = 0.3) -> nn.Module:
    """A user's model factory at the top level of a module: [B, 3, 64, 64] -> [B, num_classes]."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(dropout), nn.Linear(12, num_classes))


def _tensors(ds) -> dict:
    """``ds`` as the dict form of ``data=``: uint8 images, labels, class names and its own val split."""
    return {"images": ds.train_images, "labels": ds.train_labels, "class_names": ds.class_names,
            "val_images": ds.val_images, "val_labels": ds.val_labels}


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- the surface
def test_import_is_light_and_every_public_name_resolves():
    code = ("import sys, augstudy; heavy = [m for m in ('torch', 'pandas', 'matplotlib', 'scipy') if m in sys.modules];"
            "print(heavy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    for name in augstudy.__all__:
        assert getattr(augstudy, name) is not None, name
    for name in ("load_dataset", "load_policy", "preview", "measure", "ablate", "load_study"):
        assert callable(getattr(augstudy, name)), name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        augstudy.nope  # noqa: B018


def test_load_dataset_is_one_function_under_every_public_path_and_the_folder_loader_is_another_name():
    import inspect

    import augstudy.api
    import augstudy.data
    from augstudy.data.dataset import load_dataset_folder

    assert augstudy.load_dataset is augstudy.api.load_dataset is augstudy.data.load_dataset
    assert augstudy.data.load_dataset_folder is load_dataset_folder is not augstudy.load_dataset
    assert "class_names" in inspect.signature(augstudy.data.load_dataset).parameters   # the one taking any source
    assert "class_names" not in inspect.signature(load_dataset_folder).parameters


def test_preview_and_measure_stay_the_command_subpackages_and_ablate_is_one_function():
    import inspect

    import augstudy.ablation.runner  # noqa: F401 - binds the subpackages, however they are first imported
    import augstudy.measure.run  # noqa: F401
    import augstudy.preview.build  # noqa: F401
    from augstudy import api

    for name in ("preview", "measure"):
        package = getattr(augstudy, name)
        assert package.__name__ == f"augstudy.{name}" and callable(package)
        assert inspect.signature(package) == inspect.signature(getattr(api, name))
    assert augstudy.preview.build_grid is augstudy.preview.build.build_grid
    assert augstudy.measure.measure_policy is augstudy.measure.run.measure_policy
    # augstudy.ablate is the API function and nothing else; its machinery is the augstudy.ablation package
    assert augstudy.ablate is api.ablate


def test_old_ablate_import_paths_resolve_to_the_moved_modules():
    code = ("import augstudy\n"
            "from augstudy.ablate.stats import decide\n"
            "from augstudy.ablate import spec, store\n"
            "from augstudy.ablation.analysis.stats import decide as new_decide\n"
            "import augstudy.ablation.spec.study_spec as new_spec\n"
            "import augstudy.ablation.storage.store as new_store\n"
            "assert decide is new_decide and spec is new_spec and store is new_store\n"
            "from augstudy import api\n"
            "assert augstudy.ablate is api.ablate, augstudy.ablate\n"
            "print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


# ----------------------------------------------------------------------------- data
def _class_major(ds):
    """``ds``'s images reordered class by class, so an image folder lists them in the same order."""
    def order(images, labels):
        idx = torch.argsort(labels, stable=True)
        return images[idx], labels[idx]

    train = order(ds.train_images, ds.train_labels)
    val = order(ds.val_images, ds.val_labels)
    return types.SimpleNamespace(name=ds.name, train_images=train[0], train_labels=train[1], val_images=val[0],
                                 val_labels=val[1], class_names=ds.class_names)


def test_every_data_form_gives_the_same_dataset(tmp_path):
    raw = _class_major(noise_dataset(12, 8, classes=2))
    from_dict = augstudy.load_dataset(_tensors(raw))
    from_disk = augstudy.load_dataset(write_image_folder(raw, tmp_path / "folder"), cache_dir=tmp_path / "cache",
                                      progress=False)

    class TorchvisionStyle:
        classes = raw.class_names

        def __init__(self, images, labels):
            self.images, self.labels = images, labels

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, i):
            return self.images[i], int(self.labels[i])

    from_torchvision = augstudy.load_dataset((TorchvisionStyle(raw.train_images, raw.train_labels),
                                              TorchvisionStyle(raw.val_images, raw.val_labels)), progress=False)
    for ds in (from_disk, from_torchvision):
        assert ds.class_names == from_dict.class_names
        for split in ("train", "val"):
            assert torch.equal(getattr(ds, f"{split}_images"), getattr(from_dict, f"{split}_images"))
            assert torch.equal(getattr(ds, f"{split}_labels"), getattr(from_dict, f"{split}_labels"))
    assert augstudy.load_dataset(from_dict) is from_dict
    held_out = augstudy.load_dataset((raw.train_images, raw.train_labels, raw.class_names))
    assert held_out.train_images.shape[0] + held_out.val_images.shape[0] == 12
    with pytest.raises(UserError, match="cannot read a int"):
        augstudy.load_dataset(42)
    with pytest.raises(UserError, match="missing: labels"):
        augstudy.load_dataset({"images": raw.train_images, "class_names": ["a", "b"]})


def test_in_memory_data_gives_the_same_effect_table_as_the_same_images_from_disk(tmp_path, one_torch_thread):
    raw = _class_major(noise_dataset(16, 16, classes=2))
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR}, budgets={"tiny": TINY_ALL})
    common = {"seeds": 2, "budget": "tiny", "device": "cpu", "specs_dir": specs, "report": False, "verbose": False,
              "model": "user_models:tiny_cnn"}     # a small model: the data path is what is compared
    memory = augstudy.ablate("drop", data=_tensors(raw), out=tmp_path / "mem", **common)
    disk = augstudy.ablate("drop", data=str(write_image_folder(raw, tmp_path / "images")), out=tmp_path / "disk",
                           **common)
    assert memory.meta["dataset_path"] == "<in-memory>" and disk.meta["dataset_path"].endswith("images")
    assert memory.meta["n_train"] == disk.meta["n_train"] == 16
    assert set(memory.runs["status"]) == {"done"} and len(memory.runs) == 4
    assert memory.verdicts == disk.verdicts and list(memory.verdicts) == ["drop=0"]
    pd.testing.assert_frame_equal(memory.effects, disk.effects)
    assert memory.table() == disk.table() and "drop=0" in memory.table()
    columns = ["arm", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"]
    pd.testing.assert_frame_equal(memory.curves[columns], disk.curves[columns])


# ----------------------------------------------------------------------------- preview and measure
def test_preview_returns_the_figure_and_writes_only_when_asked(tmp_path):
    from augstudy.preview import figure_pixels, replay_preview
    from augstudy.preview.build import build_compare

    raw = noise_dataset(12, 8, classes=2)
    data = augstudy.load_dataset(_tensors(raw))
    fig = augstudy.preview("light", data=data, n=3, draws=2, compare=["heavy"], seed=1)
    width, height = (round(v * fig.dpi) for v in fig.get_size_inches())
    assert (width, height) == figure_pixels(build_compare(["light", "heavy"], data, n=3, draws=2, seed=1))
    assert list(tmp_path.iterdir()) == []
    png = tmp_path / "per-op.png"
    fig = augstudy.preview("final", data=data, n=2, per_op=True, out=png)
    assert png.read_bytes().startswith(b"\x89PNG") and png.with_suffix(".json").is_file()
    again = replay_preview(png.with_suffix(".json"), tmp_path / "again.png", dataset=data)
    assert again.read_bytes() == png.read_bytes()
    with pytest.raises(UserError, match="strength and compare cannot be combined"):
        augstudy.preview("light", data=data, strength=[0, 1], compare=["heavy"])
    with pytest.raises(UserError, match="use a path ending in .png"):
        augstudy.preview("light", data=data, out=tmp_path / "x.jpg")
    with pytest.raises(UserError):
        augstudy.preview("no-such-policy", data=data)


def test_measure_returns_the_commands_numbers_as_attributes(tmp_path):
    from augstudy.measure import measure_policy

    raw = noise_dataset(40, 8, classes=2)
    data = augstudy.load_dataset((raw.train_images, raw.train_labels, raw.class_names))   # 10% held out: 4 val
    flip = {"name": "flip", "ops": [{"op": "HorizontalFlip", "p": 0.5}]}
    result = augstudy.measure(flip, data=data, n=6, backends=["augstudy"], out=tmp_path)
    reference = measure_policy(flip, data=data, n=6, backends=["augstudy"], progress=False)
    assert result.stats == reference["stats"] and result.n == 4 and result.policy == "flip"
    assert [r["stats"] for r in result.ops] == [r["stats"] for r in reference["ops"]]
    assert list(result.throughput) == ["augstudy"] and result.throughput["augstudy"] > 0
    assert result.to_dict()["stats"] == reference["stats"] and result.to_dict() is not result.record
    assert result.warnings == reference["warnings"]
    assert (tmp_path / "measure-flip.json").is_file() and "images/s" in result.table()


# ----------------------------------------------------------------------------- models
def test_a_user_model_factory_trains_through_ablate_and_a_foreign_knob_is_refused(tmp_path, one_torch_thread):
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR, "pool": {"baseline_level": 5, "levels": {
        5: {"model": {"pool_stride": 5}}, 3: {"model": {"pool_stride": 3}}}}}, budgets={"tiny": TINY_ALL})
    data = noise_dataset(16, 16)
    study = augstudy.ablate("drop", seeds=1, budget="tiny", data=_tensors(data), device="cpu", out=tmp_path / "study", model=small_factory,
                            specs_dir=specs, report=False, verbose=False)
    assert {a["config"]["model"]["name"] for a in study.meta["arms"]} == {"test_api:small_factory"}
    assert list(study.runs["status"]) == ["done", "done"] and set(study.verdicts) == {"drop=0"}
    with pytest.raises(UserError, match=r"model 'test_api:small_factory' does not accept knob 'pool_stride'"):
        augstudy.ablate("pool", seeds=1, budget="tiny", data=_tensors(data), device="cpu", out=tmp_path / "refused", model=small_factory,
                        specs_dir=specs, report=False, verbose=False)
    assert not (tmp_path / "refused").exists()                   # refused before anything was written
    with pytest.raises(UserError, match="a callable must be reachable as module:name"):
        augstudy.ablate("drop", data=_tensors(data), model=lambda num_classes: small_factory(num_classes),
                        specs_dir=specs, verbose=False)


# ----------------------------------------------------------------------------- load_study
def test_load_study_reads_an_interrupted_study_without_writing(tmp_path, monkeypatch):
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR}, budgets={"tiny": TINY_ALL})
    out = tmp_path / "study"
    data = noise_dataset(16, 16)
    with pytest.raises(KeyboardInterrupt):
        augstudy.ablate("drop", seeds=1, budget="tiny", data=_tensors(data), device="cpu", out=out, model="user_models:tiny_cnn", specs_dir=specs, report=False,
                        verbose=False, executor=interrupted_after_one_epoch())
    before = _snapshot(out)
    assert "study.sqlite" in before

    def no_sqlite(*args, **kwargs):
        raise AssertionError("load_study opened SQLite")

    monkeypatch.setattr(sqlite3, "connect", no_sqlite)
    study = augstudy.load_study(out)
    assert not study.complete and study.progress.startswith("0 of 2 runs finished")
    assert set(study.runs["status"]) == {"pending"} and len(study.curves) == 1
    assert study.verdicts == {} or set(study.verdicts) <= {"drop=0"}
    assert study.factor == "drop" and study.seeds == [0] and study.baseline_arm == "drop=0.3"
    assert "2 arms x 1 seeds" in repr(study)
    assert list(study.reload().curves["epoch"]) == [1]
    assert _snapshot(out) == before                                     # not a byte, not a timestamp changed
    with pytest.raises(UserError, match="no such study directory"):
        augstudy.load_study(tmp_path / "absent")


# ----------------------------------------------------------------------------- the README walk-through
def test_the_readme_walk_through_runs(tmp_path, monkeypatch, one_torch_thread):
    """Every ```python block of the README's "From Python" section, verbatim, as one notebook."""
    dropout = yaml.safe_load((REPO / "ablations" / "dropout.yaml").read_text())
    # the recipe's model is a small one here so the notebook runs in seconds (the text is unchanged)
    specs = write_specs(tmp_path / "specs", {"dropout": dropout}, budgets={"smoke": TINY_SMOKE},
                        baseline_changes={"model": {"name": "user_models:tiny_cnn"}})
    monkeypatch.setenv("AUGSTUDY_ABLATIONS_DIR", str(specs))
    monkeypatch.setenv("AUGSTUDY_CACHE_DIR", str(tmp_path / "cache"))
    work = tmp_path / "notebook"
    work.mkdir()
    monkeypatch.chdir(work)
    notebook = types.ModuleType("readme_notebook")      # a notebook's functions live in a module, as here
    monkeypatch.setitem(sys.modules, notebook.__name__, notebook)
    blocks = readme_api_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        exec(compile(block, "README.md (From Python)", "exec"), notebook.__dict__)
    ns = notebook.__dict__

    from matplotlib.figure import Figure

    assert isinstance(ns["fig"], Figure) and ns["fig"]._repr_png_().startswith(b"\x89PNG")
    assert sorted(p.name for p in (work / "reports").glob("*.png")) == ["final-strengths.png"]   # only with out=
    assert (work / "reports" / "final-strengths.json").is_file()
    result = ns["result"]
    assert isinstance(result, augstudy.MeasureResult) and set(result.throughput) >= {"torchvision", "augstudy"}
    assert all(v > 0 for v in result.throughput.values()) and ns["summary"]["policy"] == "light"
    assert len(result.ops_frame()) == 1 + len(result.ops)
    study = ns["study"]
    assert study.complete and len(study.runs) == 4 * 2 and set(study.runs["status"]) == {"done"}
    assert set(study.verdicts) == {"dropout=0", "dropout=0.1", "dropout=0.5"}
    assert ns["paths"]["html"].is_file() and ns["paths"]["md"].is_file()
    assert set(study.curves["epoch"]) == {1, 2}
    again = ns["again"]
    assert again.complete and again.meta["dataset_path"] == "<in-memory>"
    assert {a["config"]["model"]["name"] for a in again.meta["arms"]} == {"readme_notebook:small_cnn"}
