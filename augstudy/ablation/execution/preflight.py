"""Checks a study makes once, before any run trains: does every arm's model answer a batch of
images with one logit per class?

A model whose output is not ``[B, num_classes]`` either trains to a meaningless result (more
logits than classes: cross-entropy still runs) or fails every run with a raw torch error (a
``[B]`` output).  :func:`check_model_outputs` builds each distinct model section of the arms
once, runs one forward pass of 2 val-sized images in eval mode on the study's device, and
raises one line naming the model, the arm, the shape and the fix.
"""

from __future__ import annotations

from augstudy.errors import UserError

#: images in the check's batch (2, so a batch dimension of 1 cannot hide a squeezed output)
CHECK_BATCH = 2


def check_model_outputs(arms, num_classes: int, image_size: int, device) -> None:
    """Raise :class:`UserError` unless every arm's model maps ``float32 [2, 3, S, S]`` (S =
    ``image_size``, pixels) to ``[2, num_classes]`` logits on ``device``."""
    import torch

    from augstudy.ablation.spec.study_spec import canonical_json
    from augstudy.ablation.execution.train import build_run_model

    seen: set[str] = set()
    for arm in arms:
        section = arm.config["model"]
        key = canonical_json(section)
        if key in seen:
            continue
        seen.add(key)
        name = section.get("name", "final")
        where = f"model {name!r} (arm {arm.name})"
        model = build_run_model(arm.config, num_classes, 0, device)
        x = torch.randn(CHECK_BATCH, 3, image_size, image_size,
                        generator=torch.Generator().manual_seed(0)).to(device)
        x = x.contiguous(memory_format=torch.channels_last)
        model.eval()
        try:
            with torch.no_grad():
                out = model(x)
        except Exception as exc:  # noqa: BLE001 - every run would fail the same way: say it once, now
            text = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise UserError(f"{where}: a forward pass of a [{CHECK_BATCH}, 3, {image_size}, {image_size}] batch "
                            f"failed before training ({text}); fix the model (rerun with --debug for the "
                            f"traceback)") from None
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        if shape != [CHECK_BATCH, num_classes] or not out.is_floating_point():
            got = shape if not isinstance(out, torch.Tensor) or out.is_floating_point() else f"{shape} {out.dtype}"
            raise UserError(f"{where}: returns {got} for a batch of {CHECK_BATCH} images, expected floating-point "
                            f"logits of shape [{CHECK_BATCH}, {num_classes}] ([batch, num_classes]: the dataset has "
                            f"{num_classes} classes); make its last layer output num_classes values per image")


__all__ = ["check_model_outputs", "CHECK_BATCH"]
