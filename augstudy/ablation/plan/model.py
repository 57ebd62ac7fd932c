"""The per-example data model ``augstudy plan`` simulates studies from (numpy + scipy, no torch).

A study is simulated as its runs' per-example val correctness, not as Gaussian per-seed
differences, so the decision rule sees what it sees in a real study (the same per-example
arrays :func:`augstudy.ablation.analysis.stats.decide` takes):

- **val set**: ``n_val`` examples, each with a latent difficulty ``b_i ~ N(mu_b, s_b^2)``
  (logit scale), drawn afresh for every simulated study (the val set is one sample of the task);
- **arm**: a logit shift ``delta_a`` (the true effect: the arm's expected accuracy minus the
  baseline's is exactly the effect asked for) and, for every non-baseline arm, a persistent
  per-example effect ``u_ai ~ N(0, s_u^2)`` (the arm is better on some images and worse on others,
  the same on every seed: the val set's own noise, which more seeds do not remove);
- **run** (arm a, seed s): a quality shift ``g_s + h_as``: ``g_s`` shared by every arm of seed s
  (that is the pairing; it cancels in a paired difference up to the logistic curvature) and
  ``h_as`` the run's own, both with sd ``s_h``;
- **churn**: run (a, s) gets example i right with probability ``sigmoid(b_i + u_ai + delta_a +
  g_s + h_as)``, independently: two runs of the same arm disagree on a share ``churn`` of the val set.

:class:`NoiseEstimate` holds what a practitioner measures (points and fractions);
:func:`calibrate` turns it into the logit-scale :class:`DataModel` by root finding over a
Gauss-Hermite quadrature of the difficulty (and per-example effect) distribution.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

from augstudy.ablation.terms import POINTS
from augstudy.errors import UserError

_NODES = 64                   # Gauss-Hermite nodes for the difficulty, per axis
_MAX_LOGIT_SD = 12.0


@dataclass(frozen=True)
class NoiseEstimate:
    """What a pilot study (or the user) says about the noise, in the units the effect table uses.

    accuracy: val accuracy level of the baseline, fraction in (0, 1).
    churn: share of val examples on which two runs of the same arm (different seeds) disagree,
        fraction in (0, 2 accuracy (1 - accuracy)]; None: the largest the seed sd allows (all of
        the seed sd is churn, capped at that maximum): the most val-set noise consistent with it.
    seed_sd: seed-to-seed sd of the per-seed paired difference (arm - baseline), accuracy points,
        as measured on ``ref_val`` val images (it holds the runs' churn on that many images).
    val_sd: sd of an arm's effect due to which val images were drawn (the persistent per-example
        effect), accuracy points at ``ref_val`` images; 0 when the arm's per-example differences
        average out over seeds.
    ref_val: the val-set size ``seed_sd`` and ``val_sd`` were measured at.
    """

    accuracy: float
    churn: float | None
    seed_sd: float
    val_sd: float
    ref_val: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DataModel:
    """The logit-scale parameters of the module docstring's data model, for ``n_val`` images."""

    n_val: int
    mu_b: float                # mean difficulty (logit)
    s_b: float                 # sd of difficulty over examples (logit)
    s_u: float                 # sd of a non-baseline arm's persistent per-example effect (logit)
    s_h: float                 # sd of each run-quality shift, seed-shared and run-own alike (logit)
    accuracy: float
    churn: float               # same-arm disagreement share implied by (mu_b, s_b)
    seed_floor: float          # points: the seed sd the churn alone gives at n_val images
    seed_sd: float             # points: the seed sd of the paired difference at n_val images

    def to_dict(self) -> dict:
        return asdict(self)

    def shift_for(self, effect_points: float, persistent: bool = True) -> float:
        """Logit shift ``delta`` whose expected accuracy minus the baseline's is ``effect_points``."""
        z, w = _quadrature(self.s_u if persistent else 0.0)
        target = self.accuracy + effect_points / POINTS
        if not 0.0 < target < 1.0:
            raise UserError(f"--effect {effect_points:g}: the baseline's accuracy {self.accuracy:.3f} plus the "
                            f"effect leaves [0, 1]; choose a smaller effect")
        b = self.mu_b + self.s_b * z[0]
        u = z[1] * self.s_u if persistent else 0.0
        f = lambda d: float(np.sum(w * _sigmoid(b + u + d))) - target
        return float(optimize.brentq(f, -40.0, 40.0, xtol=1e-12))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _quadrature(s_u: float):
    """Nodes ``z [2, K]`` (standard normal pairs) and weights ``w [K]`` for E over (difficulty, u)."""
    x, wx = np.polynomial.hermite_e.hermegauss(_NODES)
    wx = wx / wx.sum()
    if s_u <= 0:
        return np.stack([x, np.zeros_like(x)]), wx
    xx, yy = np.meshgrid(x, x, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()]), np.outer(wx, wx).ravel()


def _difficulty(accuracy: float, churn: float) -> tuple[float, float]:
    """``(mu_b, s_b)`` giving mean accuracy ``accuracy`` and same-arm churn ``churn``."""
    z, w = _quadrature(0.0)
    z = z[0]

    def mean_for(s_b: float) -> float:
        g = lambda mu: float(np.sum(w * _sigmoid(mu + s_b * z))) - accuracy
        return float(optimize.brentq(g, -60.0, 60.0, xtol=1e-12))

    def churn_for(s_b: float) -> float:
        p = _sigmoid(mean_for(s_b) + s_b * z)
        return float(np.sum(w * 2.0 * p * (1.0 - p)))

    top = churn_for(0.0)
    if churn >= top * (1 - 1e-9):
        return mean_for(0.0), 0.0
    if churn <= churn_for(_MAX_LOGIT_SD):
        s_b = _MAX_LOGIT_SD
    else:
        s_b = float(optimize.brentq(lambda s: churn_for(s) - churn, 0.0, _MAX_LOGIT_SD, xtol=1e-10))
    return mean_for(s_b), s_b


def calibrate(noise: NoiseEstimate, n_val: int, strict: bool = True) -> DataModel:
    """The :class:`DataModel` for ``n_val`` val images matching ``noise`` (measured at ``noise.ref_val``).

    The run-shift sd is invariant to the val size; the churn's share of the seed sd scales as
    ``1 / sqrt(n_val)`` and so does the val-set sd (``val_sd``).  Raises :class:`UserError` when
    the numbers contradict each other (e.g. a seed sd below what the churn alone gives); with
    ``strict=False`` (estimates from a pilot, whose few-seed sd is the noisier one) such a seed sd
    is raised to the churn's floor instead (``DataModel.seed_sd`` then exceeds the estimate's).
    """
    p = float(noise.accuracy)
    max_churn = 2.0 * p * (1.0 - p)
    churn = (min(max_churn, (noise.seed_sd / POINTS) ** 2 * noise.ref_val) if noise.churn is None
             else float(noise.churn))
    if churn <= 0:
        raise UserError(f"--churn {churn:g}: must be above 0 (two runs never agree on every val example)")
    if churn > max_churn * (1 + 1e-9):
        raise UserError(f"--churn {churn:g}: two runs at accuracy {p:g} disagree on at most 2p(1-p) = "
                        f"{max_churn:.3g} of the examples; give a churn in (0, {max_churn:.3g}]")
    mu_b, s_b = _difficulty(p, churn)
    z, w = _quadrature(0.0)
    pb = _sigmoid(mu_b + s_b * z[0])
    slope = float(np.sum(w * pb * (1.0 - pb)))          # d accuracy / d logit shift
    # persistent per-example effect: Var_i(sigmoid(b + u) - sigmoid(b)) / ref_val = val_sd^2 (fractions)
    target_var = (noise.val_sd / POINTS) ** 2 * noise.ref_val

    def item_var(s_u: float) -> float:
        zz, ww = _quadrature(s_u)
        d = _sigmoid(mu_b + s_b * zz[0] + s_u * zz[1]) - _sigmoid(mu_b + s_b * zz[0])
        return float(np.sum(ww * d * d) - np.sum(ww * d) ** 2)

    if noise.val_sd <= 0:
        s_u = 0.0
    elif target_var >= item_var(_MAX_LOGIT_SD):
        raise UserError(f"--val-sd {noise.val_sd:g}: larger than any per-example effect can give on "
                        f"{noise.ref_val} images at churn {churn:.3g}; give a smaller --val-sd (points), or the "
                        f"measured --churn")
    else:
        s_u = float(optimize.brentq(lambda s: item_var(s) - target_var, 0.0, _MAX_LOGIT_SD, xtol=1e-10))
    # churn between an arm and its paired baseline run (u adds disagreements): the seed sd's floor
    zz, ww = _quadrature(s_u)
    pa = _sigmoid(mu_b + s_b * zz[0] + s_u * zz[1])
    pbase = _sigmoid(mu_b + s_b * zz[0])
    cross = float(np.sum(ww * (pa + pbase - 2.0 * pa * pbase)))
    persistent = item_var(s_u) if s_u > 0 else 0.0
    floor_ref = POINTS * math.sqrt(max(cross - persistent, 0.0) / noise.ref_val)
    if strict and noise.churn is not None and noise.seed_sd < floor_ref * 0.999:
        raise UserError(f"--seed-sd {noise.seed_sd:g}: below the {floor_ref:.3g} pts that a churn of {churn:.3g} "
                        f"alone gives on {noise.ref_val} val images; give the measured --churn (typically "
                        f"0.05-0.3), or a larger seed sd")
    run_var = max(noise.seed_sd**2 - floor_ref**2, 0.0) / POINTS**2    # variance of (h_a - h_base) in accuracy
    s_h = math.sqrt(run_var / 2.0) / slope if slope > 0 else 0.0
    floor = POINTS * math.sqrt(max(cross - persistent, 0.0) / n_val)
    seed_sd = math.sqrt(floor**2 + run_var * POINTS**2)
    return DataModel(n_val=int(n_val), mu_b=mu_b, s_b=s_b, s_u=s_u, s_h=s_h, accuracy=p, churn=churn,
                     seed_floor=floor, seed_sd=seed_sd)


def study_eta(model: DataModel, shifts: np.ndarray, rng_study: np.random.Generator, n_studies: int) -> np.ndarray:
    """Logit of each run type's chance on each example, before run shifts: float32 ``[S, m + 1, n_val]``.

    Draws each study's val set (difficulty ``b``) and the non-baseline arms' persistent per-example
    effects ``u`` from ``rng_study``; ``shifts``: ``[m]`` logit shifts (:meth:`DataModel.shift_for`).
    """
    m, n_val = len(shifts), model.n_val
    b = model.mu_b + model.s_b * rng_study.standard_normal((n_studies, 1, n_val))
    u = model.s_u * rng_study.standard_normal((n_studies, m, n_val))
    eta = np.concatenate([b, b + u + np.asarray(shifts, dtype=np.float64)[None, :, None]], axis=1)
    return eta.astype(np.float32)


def seed_correct(model: DataModel, eta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One seed's runs: bool ``[S, m + 1, n_val]`` correctness, every arm of the seed sharing ``g``.

    ``eta``: :func:`study_eta`; ``rng``: this seed's own stream (run shifts, then the churn draws).
    """
    n_studies, runs, n_val = eta.shape
    g = rng.standard_normal((n_studies, 1))
    h = rng.standard_normal((n_studies, runs))
    shift = (model.s_h * (g + h)).astype(np.float32)[:, :, None]     # [S, m + 1, 1]
    x = eta + shift
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    uni = rng.random((n_studies, runs, n_val), dtype=np.float32)
    np.multiply(uni, x, out=uni)                                      # u < 1 / (1 + e^-eta) <=> u (1 + e^-eta) < 1
    return uni < 1.0


def simulate_correct(model: DataModel, shifts: np.ndarray, n_seeds: int, rng_study: np.random.Generator,
                     seed_rngs: list[np.random.Generator], n_studies: int) -> np.ndarray:
    """Per-example correctness of ``n_studies`` simulated studies.

    Args:
        shifts: ``[m]`` logit shifts of the non-baseline arms (:meth:`DataModel.shift_for`).
        rng_study: draws each study's val set (difficulty) and the arms' per-example effects.
        seed_rngs: one generator per seed index (``len >= n_seeds``): seed k's runs depend on
            ``seed_rngs[k]`` only, so the first n seeds are the same whatever ``n_seeds``
            (common random numbers across seed counts).
    Returns:
        bool ``[n_studies, m + 1, n_seeds, n_val]``, arm 0 the baseline.
    """
    eta = study_eta(model, shifts, rng_study, n_studies)
    return np.stack([seed_correct(model, eta, seed_rngs[k]) for k in range(n_seeds)], axis=2)
