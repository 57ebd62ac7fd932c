"""``augstudy data info`` through click's CliRunner and the real console script; default dataset choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from augstudy.data import resolve_data_path
from augstudy.errors import UserError


def test_data_info_table(cli_runner, tiny_imagenet_tree, tmp_path):
    result = cli_runner("data", "info", "--data", str(tiny_imagenet_tree), "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "tiny-imagenet" in out
    assert "train        24 images" in out and "val          8 images" in out
    assert "classes      4: class0, class1, class2, class3" in out
    assert "replicated 1 channel to 3 (grayscale): 4 images" in out
    assert "grayscale    12.5% of images" in out
    assert f"cache        {tmp_path / 'c'}" in out


def test_data_info_json(cli_runner, tmp_path):
    from augstudy.data.synthetic import write_cifar_pickles

    root = write_cifar_pickles(tmp_path / "cifar", per_batch=3, n_test=4)
    result = cli_runner("data", "info", "--data", str(root), "--json", "--image-size", "32")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["source_kind"] == "cifar" and info["splits"] == {"train": 15, "val": 4}
    assert info["image_shape"] == [3, 32, 32] and info["num_classes"] == 10
    assert info["conversions"] == []  # 32x32 CIFAR at image size 32: nothing changed
    assert info["class_counts"]["train"][:3] == [2, 2, 2]
    assert Path(info["cache_path"]) == root / ".augstudy-cache" / "size32"


@pytest.mark.parametrize("args,expected", [
    (["--data", "/no/such/dataset"], "error: /no/such/dataset: dataset path not found"),
    (["--data", "{tmp}"], "no dataset found: expected wnids.txt (Tiny ImageNet)"),
])
def test_data_info_bad_path_is_one_line(cli_runner, tmp_path, args, expected):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = cli_runner("data", "info", *args)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_console_script_data_info(run_console, tiny_imagenet_tree, tmp_path):
    ok = run_console("data", "info", "--data", str(tiny_imagenet_tree), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["splits"] == {"train": 24, "val": 8}
    bad = run_console("data", "info", "--data", str(tmp_path / "missing"))
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == [f"error: {tmp_path / 'missing'}: dataset path not found; "
                                               f"pass --data PATH to an existing folder (or run 'augstudy data fetch')"]


def test_console_default_dataset_is_announced(run_console, repo_root, tmp_path):
    """From a folder without data/, the embedded default beside the package is used and named."""
    result = run_console("data", "info", cwd=tmp_path, env={"AUGSTUDY_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 0, result.stderr
    if (repo_root / "data" / "tiny-imagenet-200").is_dir():
        assert "tiny-imagenet-200 (default)" in result.stderr
    else:
        assert "fashion-mnist-mini (default; data/tiny-imagenet-200 not found)" in result.stderr
        assert "train        2,000 images" in result.stdout and "T-shirt/top, Trouser" in result.stdout


def test_resolve_data_path_prefers_tiny_imagenet_in_cwd(tmp_path, monkeypatch):
    (tmp_path / "data" / "tiny-imagenet-200").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    path, message = resolve_data_path(None)
    assert path.resolve() == (tmp_path / "data" / "tiny-imagenet-200").resolve()
    assert message == "using dataset data/tiny-imagenet-200 (default)"
    path, message = resolve_data_path("elsewhere")
    assert path == Path("elsewhere") and message == "using dataset elsewhere"


def test_resolve_data_path_without_any_default(tmp_path, monkeypatch):
    import augstudy.data.paths as paths

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "data_dir_candidates", lambda: [tmp_path / "data"])
    with pytest.raises(UserError, match=r"no dataset given .* pass --data PATH"):
        resolve_data_path(None)


def test_mini_dataset_fixture(mini_dataset):
    assert mini_dataset.name == "fashion-mnist-mini" and mini_dataset.source_kind == "idx"
    assert tuple(mini_dataset.train_images.shape) == (2000, 3, 64, 64)
    assert tuple(mini_dataset.val_images.shape) == (500, 3, 64, 64)
    assert mini_dataset.class_counts("train") == [200] * 10 and mini_dataset.class_counts("val") == [50] * 10
    assert mini_dataset.class_names[0] == "T-shirt/top" and mini_dataset.class_names[-1] == "Ankle boot"
    assert mini_dataset.grayscale_fraction == 1.0
