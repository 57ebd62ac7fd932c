"""Batch-level MixUp and CutMix with keyed partners, and the soft targets they train on.

Semantics follow timm ``data/mixup.py`` (``Mixup(mixup_alpha, cutmix_alpha, prob, switch_prob,
mode="elem", correct_lam=True, label_smoothing)``) and torchvision v2 ``MixUp``/``CutMix``:

- MixUp: ``x = lam * x_i + (1 - lam) * x_j`` with ``lam ~ Beta(mixup_alpha, mixup_alpha)``;
- CutMix: the box of ``x_j`` pasted into ``x_i``; ``lam ~ Beta(cutmix_alpha, cutmix_alpha)`` sets the box
  side ``cut = int(S * sqrt(1 - lam))`` (timm's ``rand_bbox``), its centre is uniform over the image, the box is
  clipped to the image and ``lam`` is then **corrected** to the share of pixels that stayed ``x_i``:
  ``lam = 1 - box_h * box_w / S**2`` (timm ``correct_lam=True``; torchvision always corrects);
- each example is mixed with probability ``prob`` (else ``lam = 1``); when both are on, CutMix is chosen with
  probability ``switch_prob`` (timm's default 0.5), else MixUp;
- targets: ``t = lam * smooth(y_i) + (1 - lam) * smooth(y_j)`` with ``smooth(y) = (1 - eps) * onehot(y) +
  eps / K`` (timm's ``mixup_target``: label smoothing folded into each one-hot before mixing; each row sums
  to 1), trained with the soft cross-entropy ``-sum_k t_k log softmax(z)_k`` (mean over examples).

Where augstudy differs, on purpose:

- **Partners are keyed, not batch neighbours.**  timm pairs an image with its mirror in the batch
  (``x.flip(0)``), torchvision with its neighbour (``roll(1)``): the pairs then depend on the batch size and
  on where each image falls in the batch.  Here the partner ``j`` of image ``i`` at ``epoch`` is drawn
  uniformly among the *other* train images of the run's subset by the keyed hash of
  :mod:`augstudy.policy.sampling` (a pure function of the mix seed, epoch and ``i``'s dataset index), and so
  are the mix coin, the MixUp/CutMix switch, ``lam`` and the box centre: paired seeds mix the same pairs with
  the same ``lam`` in every arm, at any batch size, on any device.  The partner's image is its own augmented
  view of that epoch (the same keyed policy draw it gets as a primary), so a batch costs one extra
  augmentation pass, not an extra forward pass.
- **Per-example ``lam`` (timm's ``mode="elem"``)**, drawn by the inverse Beta CDF of the keyed uniform
  (``scipy.special.betaincinv``), so arms with different alphas see monotonically coupled ``lam`` (common
  random numbers) rather than independent ones.  CutMix boxes are per example too (timm's elem mode loops;
  here one masked ``where``).
- Mixing happens in [0, 1] pixel space before normalization; normalization is affine per channel, so the
  result equals timm's mixing of normalized tensors.

Train accuracy on mixed batches (what ``train_acc`` means for a mixing run): the target-weighted hit rate
``lam * [argmax = y_i] + (1 - lam) * [argmax = y_j]`` averaged over examples (the label-smoothing share left
out); it equals plain accuracy for unmixed examples.  It is measured on mixed images, so it is not comparable
with val accuracy: the generalization gap is reported n/a for mixing runs
(:func:`augstudy.ablation.storage.schema.gen_gap_na`).

Shapes: images ``[B, 3, S, S]`` float in [0, 1]; labels int64 ``[B]``; ``lam`` float32 ``[B]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: keyed-draw slots (op position MIX_POSITION of KeyedUniforms): never reused for another purpose
MIX_POSITION = 1_000_001
SLOT_COIN, SLOT_SWITCH, SLOT_PARTNER, SLOT_LAM, SLOT_CY, SLOT_CX = range(6)


@dataclass(frozen=True)
class MixSettings:
    """The config's ``mix`` section: ``mixup_alpha``/``cutmix_alpha`` (None = off, else > 0), ``prob``
    (probability an example is mixed) and ``switch_prob`` (probability of CutMix when both are on)."""

    mixup_alpha: float | None = None
    cutmix_alpha: float | None = None
    prob: float = 1.0
    switch_prob: float = 0.5

    @property
    def active(self) -> bool:
        return (self.mixup_alpha is not None or self.cutmix_alpha is not None) and self.prob > 0

    @classmethod
    def from_config(cls, config: dict) -> "MixSettings":
        section = config.get("mix") or {}
        return cls(section.get("mixup_alpha"), section.get("cutmix_alpha"), float(section.get("prob", 1.0)),
                   float(section.get("switch_prob", 0.5)))


@dataclass
class MixDraw:
    """The keyed mixing of one batch (all CPU tensors, leading dim B).

    ``partner``: int64 positions (into the run's train subset) of each example's partner;
    ``lam``: float64 weight of the example's own image and label (after CutMix's correction; 1 = unmixed);
    ``cutmix``: bool, CutMix (True) or MixUp (False) for a mixed example; ``top``/``left``/``height``/
    ``width``: int64 CutMix box in pixels (0x0 for MixUp and unmixed examples).
    """

    partner: torch.Tensor
    lam: torch.Tensor
    cutmix: torch.Tensor
    top: torch.Tensor
    left: torch.Tensor
    height: torch.Tensor
    width: torch.Tensor

    def captions(self, own: list[int] | None = None) -> list[str]:
        """One caption per example: ``"x 17 cutmix lam=0.62"`` (``own``: the examples' names)."""
        out = []
        for i in range(int(self.lam.shape[0])):
            lam = float(self.lam[i])
            kind = "cutmix" if bool(self.cutmix[i]) else "mixup"
            head = f"{own[i]} " if own is not None else ""
            out.append(f"{head}unmixed" if lam >= 1.0 else f"{head}x {int(self.partner[i])} {kind} lam={lam:.2f}")
        return out


def _beta_icdf(u: torch.Tensor, alpha: float) -> torch.Tensor:
    """Beta(alpha, alpha) quantiles of float64 uniforms (inverse CDF: monotone in u, exact on every device)."""
    from scipy.special import betaincinv

    return torch.from_numpy(betaincinv(alpha, alpha, u.cpu().numpy())).to(torch.float64)


def draw_mix(settings: MixSettings, seed: int, epoch: int, indices: torch.Tensor, train_indices: torch.Tensor,
             side: int) -> MixDraw:
    """The mixing of the examples with dataset ``indices`` (int64 ``[B]``) at ``epoch`` for mix ``seed``.

    ``train_indices``: int64 ``[N]`` dataset index of every train image of the run (its subset), N >= 2;
    ``side``: the image side S in pixels.  Every value is a pure function of (seed, epoch, the example's
    dataset index) given the subset, whatever the batch it sits in.
    """
    from augstudy.policy.sampling import KeyedUniforms

    indices = indices.cpu().to(torch.int64)
    train_indices = train_indices.cpu().to(torch.int64)
    n = int(train_indices.shape[0])
    keyed = KeyedUniforms(seed, epoch, indices)

    def u(slot: int) -> torch.Tensor:
        return keyed.uniform(MIX_POSITION, slot)

    b = int(indices.shape[0])
    mixed = u(SLOT_COIN) < settings.prob
    if settings.mixup_alpha is not None and settings.cutmix_alpha is not None:
        cutmix = u(SLOT_SWITCH) < settings.switch_prob
    else:
        cutmix = torch.full((b,), settings.cutmix_alpha is not None)
    # a uniform partner among the other n - 1 images: draw in 0..n-2; the example itself maps to n - 1
    pick = torch.floor(u(SLOT_PARTNER) * (n - 1)).to(torch.int64).clamp_(max=n - 2)
    partner = torch.where(train_indices[pick] == indices, torch.full_like(pick, n - 1), pick)
    u_lam = u(SLOT_LAM)
    lam = torch.ones(b, dtype=torch.float64)
    if settings.mixup_alpha is not None:
        lam = torch.where(~cutmix, _beta_icdf(u_lam, settings.mixup_alpha), lam)
    zero = torch.zeros(b, dtype=torch.int64)
    top, left, height, width = zero, zero.clone(), zero.clone(), zero.clone()
    if settings.cutmix_alpha is not None:
        lam_cut = _beta_icdf(u_lam, settings.cutmix_alpha)
        # timm rand_bbox: cut = int(S * sqrt(1 - lam)), centre uniform in 0..S-1, box clipped to the image
        cut = torch.floor(side * torch.sqrt(1.0 - lam_cut)).to(torch.int64)
        cy = torch.floor(u(SLOT_CY) * side).to(torch.int64)
        cx = torch.floor(u(SLOT_CX) * side).to(torch.int64)
        y0, y1 = (cy - cut // 2).clamp(0, side), (cy + cut // 2).clamp(0, side)
        x0, x1 = (cx - cut // 2).clamp(0, side), (cx + cut // 2).clamp(0, side)
        on = cutmix & mixed
        top, left = torch.where(on, y0, 0), torch.where(on, x0, 0)
        height, width = torch.where(on, y1 - y0, 0), torch.where(on, x1 - x0, 0)
        corrected = 1.0 - (height * width).to(torch.float64) / float(side * side)
        lam = torch.where(cutmix, corrected, lam)
    lam = torch.where(mixed, lam, torch.ones_like(lam))
    return MixDraw(partner, lam, cutmix & mixed, top, left, height, width)


def apply_mix(images: torch.Tensor, partner_images: torch.Tensor, draw: MixDraw) -> torch.Tensor:
    """Mix ``images`` with ``partner_images`` (both float ``[B, 3, S, S]``, same device) by ``draw``:
    CutMix pastes the partner's box, MixUp blends with ``lam``; unmixed examples come back unchanged."""
    device, side = images.device, images.shape[-1]
    lam = draw.lam.to(device=device, dtype=images.dtype).view(-1, 1, 1, 1)
    blended = torch.where(draw.cutmix.to(device).view(-1, 1, 1, 1), images, lam * images + (1 - lam) * partner_images)
    steps = torch.arange(side, device=device)
    top, left = draw.top.to(device)[:, None], draw.left.to(device)[:, None]
    rows = (steps >= top) & (steps < top + draw.height.to(device)[:, None])
    cols = (steps >= left) & (steps < left + draw.width.to(device)[:, None])
    box = rows[:, None, :, None] & cols[:, None, None, :]
    return torch.where(box, partner_images, blended)


def soft_targets(labels: torch.Tensor, partner_labels: torch.Tensor, lam: torch.Tensor, num_classes: int,
                 smoothing: float = 0.0) -> torch.Tensor:
    """float32 ``[B, K]``: ``lam * smooth(y) + (1 - lam) * smooth(y_partner)``, rows summing to 1
    (timm ``mixup_target``; ``smooth(y) = (1 - eps) * onehot(y) + eps / K``)."""
    off = smoothing / num_classes
    on = 1.0 - smoothing + off

    def smooth(y):
        return torch.full((y.shape[0], num_classes), off, device=y.device, dtype=torch.float32).scatter_(
            1, y.view(-1, 1), on)

    lam = lam.to(device=labels.device, dtype=torch.float32).view(-1, 1)
    return lam * smooth(labels) + (1.0 - lam) * smooth(partner_labels)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over examples of ``-sum_k t_k log softmax(logits)_k`` (nats); ``logits``/``targets`` ``[B, K]``.
    With one-hot (or smoothed one-hot) targets it equals ``F.cross_entropy`` (with ``label_smoothing``)."""
    return -(targets * torch.log_softmax(logits.float(), dim=1)).sum(1).mean()


def soft_hits(logits: torch.Tensor, labels: torch.Tensor, partner_labels: torch.Tensor,
              lam: torch.Tensor) -> torch.Tensor:
    """Sum over the batch of ``lam * [argmax = y] + (1 - lam) * [argmax = y_partner]`` (float64 scalar):
    the train-accuracy numerator on mixed batches (see the module docstring)."""
    pred = logits.argmax(1)
    lam = lam.to(device=logits.device, dtype=torch.float64)
    return (lam * (pred == labels) + (1.0 - lam) * (pred == partner_labels)).sum()


@dataclass
class MixedBatch:
    """A mixed batch: ``images`` float ``[B, 3, S, S]`` in [0, 1], soft ``targets`` float32 ``[B, K]``, the
    examples' ``labels`` and ``partner_labels`` (int64 ``[B]``) and ``lam`` (float64 ``[B]``, CPU)."""

    images: torch.Tensor
    targets: torch.Tensor
    labels: torch.Tensor
    partner_labels: torch.Tensor
    lam: torch.Tensor

    def loss(self, logits: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(logits, self.targets)

    def hits(self, logits: torch.Tensor) -> torch.Tensor:
        return soft_hits(logits.detach(), self.labels, self.partner_labels, self.lam)


def make_mix_step(config: dict, data, augmenter, seed: int):
    """The batch mixer of the config's ``mix`` section, or None when mixing is off.

    Returns ``mix(images, labels, indices, epoch) -> MixedBatch``: ``images`` float ``[B, 3, S, S]`` in
    [0, 1] (the batch's augmented views), ``labels`` int64 ``[B]``, ``indices`` their dataset indices (CPU).
    The partners' views are augmented here by ``augmenter`` at the same epoch (call it outside autocast, as
    the batch's own augmentation is); targets are :func:`soft_targets` with ``optimizer.label_smoothing``
    folded in.  ``data``: the run's ``TrainData`` (on the training device); ``seed``: the mix seed (a key
    derived from the run's augmentation seed).
    """
    settings = MixSettings.from_config(config)
    if not settings.active:
        return None
    smoothing = float(config["optimizer"].get("label_smoothing", 0.0))

    def mix(images, labels, indices, epoch: int) -> MixedBatch:
        draw = draw_mix(settings, seed, epoch, indices, data.train_indices, images.shape[-1])
        pos = draw.partner.to(data.train_labels.device)
        partner_images = augmenter(data.train_images[pos], data.train_indices[draw.partner], epoch)
        partner_labels = data.train_labels[pos]
        targets = soft_targets(labels, partner_labels, draw.lam, data.num_classes, smoothing)
        return MixedBatch(apply_mix(images, partner_images, draw), targets, labels, partner_labels, draw.lam)
    return mix


__all__ = ["MixSettings", "MixDraw", "draw_mix", "apply_mix", "make_mix_step", "MixedBatch", "soft_targets", "soft_cross_entropy", "soft_hits",
           "MIX_POSITION"]
