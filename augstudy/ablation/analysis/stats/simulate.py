"""A per-example data model of paired-seed studies, for simulating the effect table's error rates.

Used by the tests (``tests/ablation/analysis/stats/test_stats_grid.py``), ``benchmarks/bench_effect_grid.py`` and anyone
checking a decision rule: it produces per-example correctness, not Gaussian differences alone.

The model (one study: a baseline and ``m`` arms, ``n`` paired seeds, ``n_val`` val images):

- **Latent difficulty**: example ``i`` is answered correctly with probability ``pi_i ~ Beta(1.2, 0.8)``
  (mean accuracy 60 %, many examples near 0 or 1, some in between).
- **Run quality**: run (arm ``a``, seed ``s``) shifts every example's probability by
  ``g_s + h_as + effect_a`` (fractions, clipped to [0, 1]): ``g_s`` is shared by every arm of seed ``s``
  (the pairing; it cancels in the paired difference), ``h_as`` is the run's own shift with sd
  ``seed_sd / sqrt(2)`` points so that the paired difference ``h_as - h_0s`` has sd ``seed_sd``
  (``noise``: ``"normal"``, ``"t3"`` (Student t with 3 df, scaled to that sd) or ``"skewed"``
  (centred exponential, same sd)).
- **Churn**: a run's correctness on example ``i`` is ``U < p``: with probability ``share`` the
  uniform ``U`` is the seed's own (the same draw in every arm of that seed), otherwise the run's;
  so runs of one seed agree more than runs of different seeds, and every run flips some examples.

:func:`val_sd` is the sd of a per-seed paired difference that comes from the val set alone (churn
and per-example sampling; points), so ``seed_sd = ratio * val_sd(n_val)`` sets the regime where
seed noise and val-set noise are of similar size (``ratio`` about 1).

Shapes: :func:`simulate_study` returns ``diffs [S, m, n]`` and ``example_diffs [S, m, n, n_val]``
(float32, accuracy points: ``100 * (correct_arm - correct_baseline)``).
"""

from __future__ import annotations

import math

import numpy as np

BETA_A, BETA_B = 1.2, 0.8    # latent difficulty: Beta(a, b) probability of a correct answer
SHARE = 0.5                  # chance that a run reuses its seed's uniform for an example (pairing)
NOISES = ("normal", "t3", "skewed")


def val_sd(n_val: int, share: float = SHARE) -> float:
    """Sd (points) of a per-seed paired difference from churn and val sampling alone (no run shift).

    Two runs of one seed share an example's uniform with probability ``share^2`` (each reuses the
    seed's draw with probability ``share``); otherwise they disagree with probability
    ``2 pi (1 - pi)``, so the per-example difference has variance ``2 (1 - share^2) E[pi (1 - pi)]``.
    """
    mean = BETA_A / (BETA_A + BETA_B)
    var = BETA_A * BETA_B / ((BETA_A + BETA_B) ** 2 * (BETA_A + BETA_B + 1.0))
    e_pq = mean - var - mean * mean            # E[pi (1 - pi)]
    return 100.0 * math.sqrt(2.0 * (1.0 - share * share) * e_pq / n_val)


def _shift(rng: np.random.Generator, shape, sd: float, noise: str) -> np.ndarray:
    """Zero-mean run shifts with sd ``sd`` (fractions)."""
    if noise == "normal":
        return rng.normal(0.0, sd, shape)
    if noise == "t3":
        return rng.standard_t(3, shape) * sd / math.sqrt(3.0)
    if noise == "skewed":
        return (rng.exponential(1.0, shape) - 1.0) * sd
    raise ValueError(f"unknown noise {noise!r}; use one of {', '.join(NOISES)}")


def simulate_correct(rng: np.random.Generator, studies: int, arms: int, seeds: int, n_val: int,
                     seed_sd: float, effects=None, noise: str = "normal", share: float = SHARE,
                     seed_shared_sd: float = 1.0, example_effect_sd: float = 0.0) -> np.ndarray:
    """Per-example correctness ``[S, m + 1, n, n_val]`` (float32 0/1; index 0 of axis 1 is the baseline).

    Args: as :func:`simulate_study`.
    """
    eff = np.zeros(arms) if effects is None else np.asarray(effects, dtype=np.float64)
    pi = rng.beta(BETA_A, BETA_B, size=(studies, 1, 1, n_val)).astype(np.float32)
    g = rng.normal(0.0, seed_shared_sd / 100.0, size=(studies, 1, seeds, 1))
    h = _shift(rng, (studies, arms + 1, seeds, 1), seed_sd / 100.0 / math.sqrt(2.0), noise)
    shift = np.concatenate([[0.0], eff / 100.0])[None, :, None, None]
    p = pi + (g + h + shift).astype(np.float32)             # float32: the arrays are large, 1e-7 is plenty
    if example_effect_sd > 0:
        # zero-mean over the population of images: a symmetric draw scaled by the image's headroom
        # min(pi, 1 - pi), so no probability is clipped (clipping would give the arm a net effect)
        z = np.clip(rng.normal(0.0, example_effect_sd / 100.0, size=(studies, arms, 1, n_val)), -1.0, 1.0)
        p[:, 1:] += (z * np.minimum(pi, 1.0 - pi)).astype(np.float32)
    np.clip(p, 0.0, 1.0, out=p)
    shared_u = rng.random((studies, 1, seeds, n_val), dtype=np.float32)
    v = rng.random((studies, arms + 1, seeds, n_val), dtype=np.float32)
    # one draw decides both: v < share reuses the seed's uniform, else (v - share) / (1 - share) is the run's own
    u = np.where(v < share, shared_u, (v - np.float32(share)) / np.float32(1.0 - share))
    return (u < p).astype(np.float32)


def simulate_study(rng: np.random.Generator, studies: int, arms: int, seeds: int, n_val: int,
                   seed_sd: float, effects=None, noise: str = "normal", share: float = SHARE,
                   seed_shared_sd: float = 1.0, example_effect_sd: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``studies`` studies; returns ``(diffs [S, m, n], example_diffs [S, m, n, n_val])`` in points.

    Args:
        seed_sd: sd (points) of the run-shift part of a per-seed paired difference.
        effects: ``[m]`` true effects in points (default all 0: the null).
        seed_shared_sd: sd (points) of the seed-shared shift ``g_s`` (cancels when paired).
        example_effect_sd: sd (points, before scaling) of a per-example arm effect that averages 0
            over the population of images but not over a finite val set (the val-set sampling term);
            each image's draw is clipped to +-1 and scaled by its headroom ``min(pi, 1 - pi)``.
    """
    correct = simulate_correct(rng, studies, arms, seeds, n_val, seed_sd, effects, noise, share,
                               seed_shared_sd, example_effect_sd)
    example = 100.0 * (correct[:, 1:] - correct[:, :1])
    return example.mean(axis=-1).astype(np.float64), example
