"""The preview of a MixUp/CutMix arm: which image each train image is mixed with, and at what lambda.

One PNG per mixing arm (``previews/<arm>.png``, the file the report shows beside the policy previews):
``PREVIEW_IMAGES`` class-stratified train images of the arm's budget subset, each after the arm's policy
draw and its mix, captioned ``#i (class) x #j (class)`` and ``mixup|cutmix lam=0.625`` (dataset indices; lam
is the own image's and label's weight after CutMix's box correction).  The draws are exactly those of run
seed ``PREVIEW_SEED`` at epoch 1 (policy keyed by the seed, mix by ``derive_seed(seed, "mix")``, partners
among the arm's train subset), so the figure shows what that run trains on.  A JSON record beside the PNG
holds the pairs and lambdas as numbers.
"""

from __future__ import annotations

from pathlib import Path

from augstudy.atomic import atomic_path, atomic_write_json

PREVIEW_EPOCH = 1


def mix_preview_rows(config: dict, dataset, n: int, seed: int, epoch: int = PREVIEW_EPOCH):
    """``(mixed float [n, 3, S, S] in [0, 1], captions, record)`` of ``n`` train images of the arm ``config``."""
    import torch

    from augstudy.ablation.execution.mixing import MixSettings, apply_mix, draw_mix
    from augstudy.ablation.execution.train import augment_seed, derive_seed, stratified_subset
    from augstudy.policy import apply_draw, load_policy, sample_draw
    from augstudy.preview.choice import choose_stratified

    data_cfg = config["data"]
    subset = stratified_subset(dataset.train_labels, data_cfg.get("train_subset"), data_cfg.get("subset_seed", 0))
    order_key = data_cfg.get("order_key", 0)
    picks = subset[choose_stratified(dataset.train_labels[subset], n, seed)]
    policy = load_policy(config["augment"]["policy"])
    aug_seed = augment_seed(seed, order_key)

    def view(indices):
        draw = sample_draw(policy, seed=aug_seed, epoch=epoch, indices=indices)
        out = apply_draw(dataset.train_images[indices], policy, draw)
        return out.float() / 255.0 if out.dtype == torch.uint8 else out

    own = view(picks)
    draw = draw_mix(MixSettings.from_config(config), derive_seed(aug_seed, "mix"), epoch, picks, subset,
                    own.shape[-1])
    partners = subset[draw.partner]
    mixed = apply_mix(own, view(partners), draw)
    names = list(getattr(dataset, "class_names", []) or [])

    def label(i: int) -> str:
        y = int(dataset.train_labels[i])
        return f"#{i} ({names[y] if y < len(names) else y})"

    captions, record = [], []
    for k, (i, j) in enumerate(zip(picks.tolist(), partners.tolist())):
        lam = float(draw.lam[k])
        kind = "cutmix" if bool(draw.cutmix[k]) else "mixup"
        captions.append(f"{label(i)}\nunmixed" if lam >= 1.0 else f"{label(i)} x {label(j)}\n{kind} lam={lam:.3f}")
        record.append({"index": i, "partner": j, "lam": lam, "kind": kind if lam < 1.0 else "none"})
    return mixed, captions, record


def write_mix_preview(config: dict, dataset, target: Path, n: int = 8, seed: int = 0) -> Path:
    """Render the arm's mix preview to ``target`` (PNG) and its record beside it (``.json``), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mixed, captions, record = mix_preview_rows(config, dataset, n, seed)
    cols = min(4, len(captions))
    rows = (len(captions) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols, 3.2 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(captions):
            ax.imshow(mixed[k].permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(captions[k], fontsize=7)
    mix = config.get("mix") or {}
    fig.suptitle(f"MixUp alpha {mix.get('mixup_alpha')}, CutMix alpha {mix.get('cutmix_alpha')}, "
                 f"p {mix.get('prob')}, switch {mix.get('switch_prob')}: seed {seed}, epoch {PREVIEW_EPOCH}",
                 fontsize=8)
    fig.tight_layout()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    atomic_write_json(target.with_suffix(".json"), {"kind": "mix", "seed": seed, "epoch": PREVIEW_EPOCH,
                                                    "mix": mix, "pairs": record})
    return target


__all__ = ["write_mix_preview", "mix_preview_rows", "PREVIEW_EPOCH"]
