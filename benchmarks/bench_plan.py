"""``augstudy plan`` speed: CPU and wall seconds per plan at three val sizes, with and without the seed cache.

    .venv/bin/python benchmarks/bench_plan.py            # about a minute on 2 cores

Each plan: 4 arms, accuracy 0.48, churn 0.15, a seed sd of ``sqrt(0.66^2 + 100^2 churn / n_val)``
points (a run part of 0.66 pts plus what the churn gives on that many images: 1.09 pts at 2,000),
SESOI 1, questions +1, +2 and equivalence, fixed designs and ``--seeds auto``, default simulation
counts (400 studies up to 2,000 images x 5 runs, 100 at 10,000).  "no cache" sets the
packed per-seed cache to 0 bytes, so every seed count simulates its seeds again (the design before
the cache): the ratio is the cache's gain in one run on the same machine.
"""

from __future__ import annotations

import datetime
import os
import platform
import time

from augstudy.ablation.plan import plan, simulate


def timed(val_size: int) -> tuple[float, float, list]:
    cpu, wall = time.process_time(), time.perf_counter()
    result = plan(val_size=val_size, arms=4, seed_sd=_sd(val_size),
                  accuracy=0.48, churn=0.15, progress=False)
    return time.process_time() - cpu, time.perf_counter() - wall, [r.seeds for r in result.rows]


def _sd(val_size: int) -> float:
    """The seed sd at ``val_size`` images of the 2,000-image noise (run part 0.66 pts, churn part rescaled)."""
    return (0.66**2 + 1e4 * 0.15 / val_size) ** 0.5


def main() -> None:
    print(f"# bench_plan  {datetime.date.today()}  {platform.machine()} {os.cpu_count()} CPUs  "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"{'val images':>10}  {'cache':>8}  {'cpu s':>7}  {'wall s':>7}  seeds (+1, +2, equivalent)")
    for val_size in (160, 2000, 10000):
        for label, budget in (("packed", simulate._CACHE_BYTES), ("none", 0)):
            saved, simulate._CACHE_BYTES = simulate._CACHE_BYTES, budget
            try:
                cpu, wall, seeds = timed(val_size)
            finally:
                simulate._CACHE_BYTES = saved
            print(f"{val_size:>10}  {label:>8}  {cpu:>7.2f}  {wall:>7.2f}  {seeds}")


if __name__ == "__main__":
    main()
