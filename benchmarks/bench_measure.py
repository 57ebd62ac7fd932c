"""The reference backends applying one draw, side by side, and the cost of ``augstudy measure``.

Part 1: ``apply_draw`` of each backend (torchvision = baseline, kornia, albumentations, the
augstudy engine) on the same 64x64 uint8 images and the same pre-sampled draw, interleaved
round by round so machine load hits all alike; median images/s and the ratio to torchvision,
for the policy and each of its ops.  Per-image backends get 64 images per round, batched ones 256.

Part 2: ``augstudy measure --policy light`` (defaults) and ``augstudy measure --help`` as
subprocesses: wall and CPU seconds (CPU seconds are the honest number on a shared machine).

    .venv/bin/python benchmarks/bench_measure.py [--policy light] [--rounds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BACKENDS = ("torchvision", "kornia", "albumentations", "augstudy")


def bench_backends(policy_name: str, rounds: int) -> None:
    import torch

    from augstudy.measure.run import backend_functions, measured_variants
    from augstudy.policy import load_policy, sample_draw
    from augstudy.policy.equivalence import colour_fields

    functions = backend_functions(list(BACKENDS))
    images = colour_fields(256, seed=0)
    print(f"apply_draw images/s (median of {rounds} rounds; colour fields 64x64 uint8)")
    print(f"{'row':<28}" + "".join(f"{b:>24}" for b in BACKENDS))
    for variant in measured_variants(load_policy(policy_name)):
        if variant["kind"] == "sub-op":
            continue
        draw = sample_draw(variant["policy"], seed=0, epoch=0, indices=torch.arange(256))
        rates = {b: [] for b in BACKENDS}
        for name in BACKENDS:  # warm-up
            functions[name](images[:8], variant["policy"], draw.select(slice(0, 8)))
        for _ in range(rounds):
            for name in BACKENDS:
                count = 64 if name in ("torchvision", "albumentations") else 256
                start = time.perf_counter()
                functions[name](images[:count], variant["policy"], draw.select(slice(0, count)))
                rates[name].append(count / (time.perf_counter() - start))
        medians = {b: statistics.median(v) for b, v in rates.items()}
        cells = "".join(f"{medians[b]:>13,.0f} ({medians[b] / medians['torchvision']:5.2f}x)" for b in BACKENDS)
        print(f"{variant['label']:<28}{cells}")


def timed_command(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, capture_output=True, env={"AUGSTUDY_NO_PROGRESS": "1", "PATH": ""})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="light")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    bench_backends(args.policy, args.rounds)
    script = str(Path(sys.executable).parent / "augstudy")
    print()
    help_wall, help_cpu = timed_command([script, "measure", "--help"])
    print(f"augstudy measure --help: {help_wall:.2f} s wall, {help_cpu:.2f} s cpu (baseline 1.00)")
    wall, cpu = timed_command([script, "measure", "--policy", args.policy, "--threads", str(args.threads),
                               "--out", "/tmp/bench-measure"])
    print(f"augstudy measure --policy {args.policy} (n=512 default): {wall:.1f} s wall, {cpu:.1f} s cpu "
          f"({wall / help_wall:.0f}x the --help wall time)")


if __name__ == "__main__":
    main()
