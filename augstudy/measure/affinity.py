"""Affinity (Gontijo-Lopes et al., "Tradeoffs in Data Augmentation", ICLR 2021).

    affinity = accuracy of a clean-trained model on augmented val images
               / its accuracy on the clean val images

1 means the augmentation keeps images "in distribution" for the model; low values mean it
moves them far from what the model saw.  It needs a model trained WITHOUT augmentation
(``policy: none``).  Diversity (final training loss with / without the augmentation) needs
training runs and is out of scope here.

Checkpoints accepted: a bare ``state_dict`` of :func:`augstudy.models.build_model`, or a dict
with ``"model"`` (the state_dict) and optionally ``"config"`` (an ablation run config with a
``"model"`` section ``{name, <knob>: value, ...}`` built with every knob, or the keys ``name``,
``dropout``, ``bn_order``, ``activation`` directly, plus optional ``num_classes``) and optionally ``"norm": {"mean": [3], "std": [3]}`` (fractions of
full scale) used to normalize inputs.  Missing pieces are inferred: ``num_classes`` from the
last layer, the architecture and ``bn_order`` by trying which one loads strictly, and the
normalization from the train split's per-channel mean/std (what ``augstudy ablate`` uses).
"""

from __future__ import annotations

from pathlib import Path

import torch

from augstudy.data.stats import channel_stats
from augstudy.errors import UserError

HOW_TO_GET_A_MODEL = (
    "affinity needs --model CKPT, a checkpoint of the fixed CNN trained WITHOUT augmentation: "
    "run 'augstudy ablate policy --budget short' (its policy=none arm saves "
    "reports/policy-<dataset>/checkpoints/<hash>-seed0.pt; 'augstudy report' lists which hash is policy=none), "
    "or save {'model': state_dict, 'config': {'model': {...}, 'num_classes': N}} of your own clean-trained model"
)
EVAL_BATCH = 128


#: the note of a checkpoint measured with its EMA weights
EMA_NOTE = "weights: the run's weight EMA (what the study evaluated), not its last step"


def _state_dict_of(obj, path: Path) -> tuple[dict, dict]:
    """``(state_dict, checkpoint)``: the weights to measure with.  A run that trained with weight EMA
    (``ema.horizon``) was evaluated with its averaged weights, so those are the model it reported
    (``checkpoint["ema"]``, same keys as ``checkpoint["model"]``, BatchNorm statistics included)."""
    if isinstance(obj, dict) and isinstance(obj.get("ema"), dict) and isinstance(obj.get("model"), dict):
        return obj["ema"], obj
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        return obj["model"], obj
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, {}
    raise UserError(f"{path}: not a model checkpoint; expected a state_dict or a dict with a 'model' state_dict")


def _strip_prefixes(state: dict) -> dict:
    """Drop wrappers' key prefixes (``module.`` from DataParallel, ``_orig_mod.`` from torch.compile)."""
    out = {}
    for key, value in state.items():
        for prefix in ("module.", "_orig_mod."):
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def _model_knobs(meta: dict) -> dict:
    config = meta.get("config") or {}
    knobs = config.get("model", config) if isinstance(config, dict) else {}
    return {k: knobs[k] for k in ("name", "dropout", "bn_order", "activation") if k in knobs}


def load_clean_model(path: str | Path, device: str | torch.device = "cpu"):
    """Rebuild the checkpoint's CNN in eval mode on ``device``.

    A checkpoint whose config carries a ``model`` section (what ``augstudy ablate`` saves) is built
    from it with every knob; a bare state dict is matched against ``final``/``first`` and both
    ``bn_order`` values at the default knobs.

    Returns:
        ``(model, info)`` where info has ``name``, ``num_classes``, ``bn_order``, ``activation``,
        ``norm`` (``{"mean", "std"}`` or None) and ``notes`` (what was inferred).
    """
    from augstudy.models import build_model

    path = Path(path)
    if not path.is_file():
        raise UserError(f"--model {path}: no such file; {HOW_TO_GET_A_MODEL}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise UserError(f"--model {path}: cannot be read as a torch checkpoint ({type(exc).__name__}: {exc})") from None
    state, meta = _state_dict_of(obj, path)
    notes = [EMA_NOTE] if state is meta.get("ema") else []
    state = _strip_prefixes(state)
    knobs = _model_knobs(meta)
    linear_weights = [k for k, v in state.items() if k.endswith(".weight") and v.dim() == 2]
    if not linear_weights:
        raise UserError(f"{path}: the state_dict has no linear layer; it is not one of augstudy's CNNs")
    last = max(linear_weights, key=lambda k: int(k.split(".")[0]) if k.split(".")[0].isdigit() else -1)
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    num_classes = int(config.get("num_classes") or state[last].shape[0])
    activation = knobs.get("activation", "relu")
    if "activation" not in knobs:
        notes.append("activation not in the checkpoint: assumed relu (it has no weights, so it cannot be inferred)")
    section = config.get("model")
    if isinstance(section, dict):
        model, info = _load_from_config(path, state, section, num_classes, meta, device)
        info["notes"] = [n for n in notes if n == EMA_NOTE] + info["notes"]
        return model, info
    names = [knobs["name"]] if "name" in knobs else ["final", "first"]
    orders = [knobs["bn_order"]] if "bn_order" in knobs else ["after", "before"]
    errors = []
    for name in names:
        for bn_order in orders:
            model = build_model(name, num_classes=num_classes, dropout=float(knobs.get("dropout", 0.3)),
                                bn_order=bn_order, activation=activation)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                errors.append(f"{name}/{bn_order}: {str(exc).splitlines()[0]}")
                continue
            norm = meta.get("norm") if isinstance(meta.get("norm"), dict) else None
            info = {"name": name, "num_classes": num_classes, "bn_order": bn_order, "activation": activation,
                    "norm": norm, "notes": notes}
            return model.to(device).eval(), info
    raise UserError(f"{path}: the weights fit none of augstudy's CNNs ({'; '.join(errors[:2])})")


def _load_from_config(path: Path, state: dict, section: dict, num_classes: int, meta: dict, device):
    """Build the run config's ``model`` section (every knob, e.g. ``width``) and load ``state`` strictly."""
    from augstudy.models import build_model_from_config

    model = build_model_from_config(section, num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise UserError(f"{path}: the weights do not fit the checkpoint's own model section {section} "
                        f"({str(exc).splitlines()[0]})") from None
    norm = meta.get("norm") if isinstance(meta.get("norm"), dict) else None
    info = {"name": section.get("name", "final"), "num_classes": num_classes,
            "bn_order": section.get("bn_order", "after"), "activation": section.get("activation", "relu"),
            "norm": norm, "notes": []}
    if "activation" not in section:
        info["notes"].append("activation not in the checkpoint: assumed relu (the model default)")
    return model.to(device).eval(), info


def train_channel_norm(train_images: torch.Tensor, chunk: int = 4096) -> dict:
    """Per-channel mean/std (fractions of full scale) of uint8 ``[N, 3, H, W]`` train images:
    the normalization ``augstudy ablate`` trains with."""
    mean, std = channel_stats(train_images, chunk)
    return {"mean": mean.tolist(), "std": std.tolist()}


def accuracy(model, images: torch.Tensor, labels: torch.Tensor, norm: dict, input_side: int) -> float:
    """Top-1 accuracy (fraction) of ``model`` on uint8 ``[N, 3, H, W]`` images, normalized with ``norm``."""
    device = next(model.parameters()).device
    mean = torch.tensor(norm["mean"], device=device, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(norm["std"], device=device, dtype=torch.float32).view(1, 3, 1, 1)
    correct = 0
    for start in range(0, images.shape[0], EVAL_BATCH):
        x = images[start:start + EVAL_BATCH].to(device).float().div_(255.0)
        if x.shape[-1] != input_side:
            x = torch.nn.functional.interpolate(x, size=(input_side, input_side), mode="bilinear",
                                                align_corners=False, antialias=True)
        logits = model((x - mean) / std)
        correct += int((logits.argmax(1).cpu() == labels[start:start + EVAL_BATCH]).sum())
    return correct / max(1, images.shape[0])


def affinity_ratio(clean_accuracy: float, augmented_accuracy: float) -> float | None:
    """augmented / clean accuracy; None when the clean accuracy is 0 (undefined)."""
    return augmented_accuracy / clean_accuracy if clean_accuracy > 0 else None


__all__ = ["load_clean_model", "train_channel_norm", "accuracy", "affinity_ratio", "HOW_TO_GET_A_MODEL"]
