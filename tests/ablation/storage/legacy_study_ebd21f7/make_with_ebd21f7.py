"""Writes a tiny study folder with augstudy at commit ebd21f7 (the layout before the reshaping)."""
import sys, shutil
from pathlib import Path
import torch
torch.set_num_threads(1)
from augstudy.ablate.runner import run_study
from test_ablate_helpers import noise_dataset, write_specs
out = Path(sys.argv[1])
specs = write_specs(out.parent / "specs", {"drop": {"baseline_level": 0.3, "levels": {
    0.3: {"model": {"dropout": 0.3}}, 0.0: {"model": {"dropout": 0.0}}, 0.6: {"model": {"dropout": 0.6}}}}},
    baseline_changes={"model": {"name": "user_models:tiny_cnn"}})
run_study("drop", seeds=2, budget="tiny", dataset=noise_dataset(24, 24, classes=4), device="cpu", out=out,
          specs_dir=specs, report=False, echo=print, budget_override={"train": {"batch_size": 8}})
