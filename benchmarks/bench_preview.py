"""How long does ``augstudy preview`` take with its defaults (target: under 10 s on 2 CPU cores)?

Side by side in one run:

1. the whole command as a user runs it (``augstudy preview --policy light``, 8 images x 4 draws,
   embedded default dataset), in a fresh subprocess, against the same interpreter's bare startup
   (``augstudy preview --help``) as the baseline;
2. in-process stages: load the dataset, sample + apply the draws, render the PNG;
3. our renderer (fixed layout, one ``add_axes`` + ``imshow`` per cell) against the naive baseline
   (``plt.subplots`` with ``constrained_layout`` and ``bbox_inches="tight"``) on the same tensors.

Run: ``.venv/bin/python benchmarks/bench_preview.py [--repeats 3]``.  Prints seconds and ratios.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONSOLE = REPO / ".venv" / "bin" / "augstudy"


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median (wall seconds, CPU seconds) of ``fn()`` over ``repeats`` runs.  CPU time is shown
    too because the 2 shared cores are often oversubscribed, which inflates wall time only."""
    walls, cpus = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), _cpu_seconds()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu_seconds() - start_cpu)
    return statistics.median(walls), statistics.median(cpus)


def run_cli(*args: str) -> None:
    env = {**os.environ, "AUGSTUDY_NO_PROGRESS": "1"}
    subprocess.run([str(CONSOLE), *args], check=True, capture_output=True, env=env)


def naive_render(preview, out_path: Path) -> None:
    """Baseline renderer: subplots grid, constrained layout, tight bounding box."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, cols = preview.shape
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2), dpi=100, constrained_layout=True,
                             squeeze=False)
    for r in range(rows):
        for c, column in enumerate(preview.columns):
            axes[r][c].imshow(column.images[r].permute(1, 2, 0).numpy())
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if r == 0:
                axes[r][c].set_title(column.header, fontsize=7)
        axes[r][0].set_ylabel(preview.row_labels[r], fontsize=7)
    fig.suptitle(preview.title, fontsize=7)
    fig.savefig(out_path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement, median kept (default 3)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from augstudy import preview as pv
    from augstudy.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        startup = timed(lambda: run_cli("preview", "--help"), args.repeats)
        command = timed(lambda: run_cli("preview", "--policy", "light", "--out", str(tmp / "cli.png")), args.repeats)
        load = timed(lambda: load_dataset(None, progress=False), args.repeats)
        dataset = load_dataset(None, progress=False)
        build = timed(lambda: pv.build_grid("light", dataset), args.repeats)
        built = pv.build_grid("light", dataset)
        naive = timed(lambda: naive_render(built, tmp / "naive.png"), args.repeats)
        ours = timed(lambda: pv.render_png(built, tmp / "ours.png"), args.repeats)

    def line(label, measured, baseline=None):
        ratio = f"{measured[0] / baseline[0]:8.2f}" if baseline else f"{'':8}"
        print(f"{label:<48} {measured[0]:8.2f} {measured[1]:8.2f} {ratio}")

    print(f"{'measurement (median of ' + str(args.repeats) + ')':<48} {'wall s':>8} {'cpu s':>8} {'ratio':>8}")
    line("augstudy preview --help (startup baseline)", startup, startup)
    line("augstudy preview --policy light (8x4 defaults)", command, startup)
    print(f"{'  wall / 10 s budget, cpu / 10 s budget':<48} {command[0] / 10:8.2f} {command[1] / 10:8.2f}")
    line("load_dataset (embedded default, cached)", load)
    line("build_grid (choose, sample 4 draws, apply)", build)
    line("render, naive subplots+tight (baseline)", naive, naive)
    line("render, one figimage (ours)", ours, naive)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, threads 1, repeats {args.repeats}")


if __name__ == "__main__":
    main()
