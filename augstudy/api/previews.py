"""``augstudy.preview``: a policy's draws on real images as a matplotlib ``Figure`` (PNG only on request).

The same engine as ``augstudy preview``: :mod:`augstudy.preview.build` chooses the images and
applies the draws training sees; :func:`augstudy.preview.render.preview_figure` lays them out.  With
``mixup=``/``cutmix=`` the figure is the ablation's mix preview
(:mod:`augstudy.ablation.execution.mix_preview`), the pairs and lambdas a study arm draws.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from augstudy.api.data import DataSource, load_dataset
from augstudy.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def preview(policy: Any, data: DataSource = None, *, n: int = 8, draws: int = 4, seed: int = 0,
            strength: float | Sequence[float] | None = None, compare: Sequence[Any] | None = None,
            per_op: bool = False, mixup: float | None = None, cutmix: float | None = None, mix_prob: float = 1.0,
            switch_prob: float = 0.5, split: str = "val", epoch: int = 0,
            out: str | Path | None = None) -> "Figure":
    """A grid of ``n`` dataset images (rows, one class after another from ``seed``) and their augmented
    versions; returns the matplotlib ``Figure`` (shown inline by Jupyter; ``fig.savefig`` works).

    Args:
        policy: a preset name, a policy file, a dict or a ``Policy`` (see :func:`augstudy.load_policy`).
        data: anything :func:`augstudy.load_dataset` takes (default: the default dataset).
        n: images (rows).  draws: augmented versions per image (columns after the original);
            draw ``d`` is the one training sees at epoch ``epoch + d``.
        seed: seed of the image choice and every draw (same seed, same figure).
        strength: a number or several: the policy scaled by ``scale_policy`` (0 = identity,
            1 = as written), one column group per strength.
        compare: other policies shown beside ``policy`` on the same images and seed.
        per_op: one draw shown op by op (original, after op 1, after op 2, ...).
        mixup, cutmix: MixUp / CutMix alphas (> 0; ``None`` = off), ``mix_prob`` (probability an image is
            mixed) and ``switch_prob`` (CutMix's share when both are on), with the run config's ``mix``
            defaults and rules: the figure is then ``n`` train images after ``policy`` and their mix, the
            pairs and lambdas run seed ``seed`` trains on at epoch 1 (a study arm's preview), 4 to a row.
            ``split`` is then ignored (mixing is a training step); ``draws``, ``epoch``, ``strength``,
            ``compare`` and ``per_op`` do not apply and are refused when set.
        split: ``"val"`` or ``"train"``.
        out: a ``.png`` path: the PNG and its replay record (``.json`` beside it) are written there
            (``augstudy preview --replay`` re-renders it); ``None`` (default): nothing is written.

    The figure is 100 dpi, about ``1.3 + 1.06 * columns`` by ``0.5 + 1.06 * rows`` inches.
    """
    from augstudy import preview as lib
    from augstudy.preview.render import preview_figure

    if split not in ("val", "train"):
        raise UserError(f"split must be 'val' or 'train', got {split!r}")
    if mixup is not None or cutmix is not None:
        return _mix_preview(policy, data, n=n, seed=seed, mixup=mixup, cutmix=cutmix, mix_prob=mix_prob,
                            switch_prob=switch_prob, out=out,
                            unused={"strength": strength is not None, "compare": bool(compare), "per_op": per_op,
                                    "draws": draws != 4, "epoch": epoch != 0})
    if (mix_prob, switch_prob) != (1.0, 0.5):
        raise UserError("preview: mix_prob and switch_prob set how MixUp/CutMix mix; pass mixup= or cutmix= too")
    modes = [name for name, on in (("strength", strength is not None), ("compare", bool(compare)),
                                   ("per_op", per_op)) if on]
    if len(modes) > 1:
        raise UserError(f"preview: {' and '.join(modes)} cannot be combined; choose one")
    if out is not None:
        from augstudy.preview.record import check_preview_target

        check_preview_target(out, f"out={out}")
    policies = [lib.resolve_policy(p) for p in [policy, *(compare or [])]]  # fail before loading data
    dataset = load_dataset(data, image_size=policies[0].image_size)
    common = {"n": n, "seed": seed, "split": split, "epoch": epoch}
    if strength is not None:
        strengths = [float(strength)] if isinstance(strength, (int, float)) else [float(s) for s in strength]
        built = lib.build_strengths(policies[0], strengths, dataset, draws=draws, **common)
    elif compare:
        built = lib.build_compare(policies, dataset, draws=draws, **common)
    elif per_op:
        built = lib.build_per_op(policies[0], dataset, **common)
    else:
        built = lib.build_grid(policies[0], dataset, draws=draws, **common)
    if out is not None:
        lib.write_preview(built, out)
    return displayable(preview_figure(built))


def _mix_preview(policy, data, *, n, seed, mixup, cutmix, mix_prob, switch_prob, out, unused: dict) -> "Figure":
    """The mix preview of ``policy`` (the ablation's, the draws a study arm shows)."""
    from augstudy import preview as lib
    from augstudy.ablation.execution.mix_preview import build_mix_preview, check_mix_options, write_mix_record_preview

    refused = [name for name, on in unused.items() if on]
    if refused:
        raise UserError(f"preview: mixup/cutmix show one mixed view per train image (the run's epoch-1 draws); "
                        f"drop {', '.join(refused)}")
    mix = check_mix_options(mixup, cutmix, mix_prob, switch_prob,
                            names={"mixup_alpha": "mixup", "cutmix_alpha": "cutmix", "prob": "mix_prob",
                                   "switch_prob": "switch_prob"})
    if out is not None:
        from augstudy.preview.record import check_preview_target

        check_preview_target(out, f"out={out}")
    resolved = lib.resolve_policy(policy)   # fail before loading data
    built = build_mix_preview(resolved, load_dataset(data, image_size=resolved.image_size), mix, n=n, seed=seed)
    if out is not None:
        write_mix_record_preview(built, out)
    return displayable(built.figure)


def displayable(fig: "Figure") -> "Figure":
    """``fig`` with a ``_repr_png_`` so Jupyter shows it inline under any matplotlib backend."""
    from augstudy.preview.render import DPI

    def _repr_png_() -> bytes:
        import io

        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
        return buffer.getvalue()

    fig._repr_png_ = _repr_png_
    return fig


__all__ = ["preview", "displayable"]
