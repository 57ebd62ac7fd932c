"""AutoAugment(policy): one of 25 learned sub-policies per image, each two sub-ops with their own
probability and magnitude bin (of 10); signed magnitudes negated with probability 1/2.

Source: ``torchvision.transforms.v2.AutoAugment`` (``torchvision/transforms/v2/_auto_augment.py``,
``_get_policies`` for ``imagenet``, ``cifar10`` and ``svhn``, ``_AUGMENTATION_SPACE`` and
``forward``); :data:`augstudy.policy.auto_spaces.AUTOAUGMENT_POLICIES`.  Defaults as torchvision:
``policy=imagenet``, nearest, ``fill=None``.

Draw: ``sub_op`` int64 [B, 2], ``magnitude`` float32 [B, 2] (a sub-op whose probability did not
fire is ``Identity``), ``sub_policy`` int64 [B] (which of the 25).  Slots: 1 (sub-policy), then per
step j: ``2 + 2j`` (probability coin, torchvision's ``rand() <= p``), ``3 + 2j`` (sign).
Strength: ``magnitude_scale`` (:mod:`~augstudy.policy.ops.auto_base`).
"""

from __future__ import annotations

from augstudy.policy.ops.auto_base import FILL_DOC, SCALE_DOC, AutoPolicyOp, Interpolation, MagnitudeScale, \
    OptionalFill
from augstudy.policy.ops.base import Choice, OpParams, field

POLICIES = ("imagenet", "cifar10", "svhn")
#: torchvision's AutoAugment evaluates its magnitude tables with 10 bins
NUM_BINS = 10


class AutoAugmentParams(OpParams):
    policy: Choice(*POLICIES) = field("imagenet", "learned sub-policies: imagenet, cifar10 or svhn")
    interpolation: Interpolation() = field("nearest", "resampling of the geometric sub-ops")
    fill: OptionalFill() = field(None, FILL_DOC)
    magnitude_scale: MagnitudeScale() = field(1.0, SCALE_DOC)


class AutoAugment(AutoPolicyOp):
    name = "AutoAugment"
    doc = "torchvision's AutoAugment: one of 25 learned two-op sub-policies per image"
    Params = AutoAugmentParams
    space = "AutoAugment"

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.auto_spaces import AUTOAUGMENT_POLICIES, SPACES, SUB_OP_ID

        table = AUTOAUGMENT_POLICIES[spec.params["policy"]]
        names = tuple(SPACES[self.space])
        device = u.keyed.per_index.device
        ids, mags, signed = (t.to(device) for t in self._tables(names, NUM_BINS, side))
        local = torch.tensor([[names.index(op) for op, _, _ in pair] for pair in table], device=device)
        prob = torch.tensor([[p for _, p, _ in pair] for pair in table], dtype=torch.float64, device=device)
        bins = torch.tensor([[b or 0 for _, _, b in pair] for pair in table], device=device)
        chosen = u.integer(1, len(table))
        steps_ids, steps_mags = [], []
        for j in range(2):
            choice, bin_j = local[chosen, j], bins[chosen, j]
            fired = u(2 + 2 * j) <= prob[chosen, j]
            magnitude = self._signed_scaled(names, choice, mags[choice, bin_j], u(3 + 2 * j) <= 0.5, signed,
                                            spec.params, side)
            steps_ids.append(torch.where(fired, ids[choice], SUB_OP_ID["Identity"]))
            steps_mags.append(torch.where(fired, magnitude, torch.zeros_like(magnitude)))
        return {"sub_op": torch.stack(steps_ids, 1), "magnitude": torch.stack(steps_mags, 1).to(torch.float32),
                "sub_policy": chosen}
