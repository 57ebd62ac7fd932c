"""``measure_policy``: throughput, pixel-statistics shift, no-ops and affinity of a policy and of each op.

Rows measured (``result["ops"]``), each on the same ``n`` validation images and draws keyed by
``(seed, epoch 0, image index)``:

- ``policy``: the whole policy;
- ``op k: <Op>``: op k alone, with its own ``p`` and parameters;
- ``<Op k>.<factor>``: each active ColorJitter factor alone (brightness, contrast, saturation,
  hue), so a sub-op that does nothing on this data (saturation/hue on grayscale) is caught.

Pixel statistics come from the batched engine (backend ``augstudy``: what training sees) when
it is available, else from torchvision.  Throughput is measured for every requested backend on
the same 64x64 uint8 batch (256 images, or ``n`` if fewer; the per-image backends torchvision and
albumentations on the first 64 of them, since their rate does not depend on the batch) with the
same draw.
"""

from __future__ import annotations

from pathlib import Path

import torch

from augstudy.errors import UserError
from augstudy.measure.pixel_stats import pixel_shift
from augstudy.measure.throughput import DEFAULT_BATCH, PER_IMAGE_BATCH, measure_backends, ratios_to
from augstudy.policy.ops.color_jitter import active_adjustments

ALL_BACKENDS = ("torchvision", "kornia", "albumentations", "augstudy")
#: warn when an op changed nothing on at least this share of the images it was applied to
NOOP_WARN_SHARE = 0.05
DIVERSITY_NOTE = ("diversity (final training loss with the augmentation / without it) needs training runs "
                  "and is out of scope for 'measure'; 'augstudy ablate policy' reports train losses per arm")
DEFAULT_N = 512


def parse_backends(names) -> list[str]:
    """Validate backend names (a list or a comma-separated string); UserError names the bad one."""
    if isinstance(names, str):
        names = [b.strip() for b in names.split(",") if b.strip()]
    names = list(dict.fromkeys(names or ALL_BACKENDS))
    for name in names:
        if name not in ALL_BACKENDS:
            raise UserError(f"--backends: unknown backend {name!r}; choose from {','.join(ALL_BACKENDS)}")
    return names


def backend_functions(names: list[str]) -> dict:
    """``{name: apply(images, policy, draw)}`` via ``augstudy.policy.apply_draw`` (clear errors if missing)."""
    from augstudy.policy.apply import backend_module

    return {name: backend_module(name).apply_draw for name in names}


def measured_variants(policy) -> list[dict]:
    """``[{"label", "kind", "op", "p", "policy"}]``: the policy, each op alone, each ColorJitter factor alone."""
    from augstudy.policy import Policy

    def single(label: str, op_dict: dict):
        return Policy.from_dict({"name": label, "image_size": policy.image_size, "ops": [op_dict]},
                                source=f"policy {policy.name!r} ({label})")

    variants = [{"label": "policy", "kind": "policy", "op": policy.name, "p": policy.p, "policy": policy}]
    for position, spec in enumerate(policy.ops, start=1):
        label = f"op {position}: {spec.op}"
        variants.append({"label": label, "kind": "op", "op": spec.op, "p": spec.p, "policy": single(label, spec.to_dict())})
        if spec.op == "ColorJitter":
            active = active_adjustments(spec.params)
            for factor in active if len(active) > 1 else []:
                only = {"op": "ColorJitter", factor: spec.params[factor], "p": spec.p}
                sub_label = f"op {position}: ColorJitter.{factor}"
                variants.append({"label": sub_label, "kind": "sub-op", "op": f"ColorJitter.{factor}", "p": spec.p,
                                 "policy": single(sub_label, only)})
    return variants


def available_devices() -> list[str]:
    """``["cpu"]`` plus ``"cuda"`` when a CUDA device is usable."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def device_description(devices: list[str]) -> str:
    if "cuda" in devices:
        return f"cpu+cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def _applied_any(draw) -> torch.Tensor:
    applied = torch.zeros_like(draw.ops[0]["apply"]) if draw.ops else None
    for fields in draw.ops:
        applied = applied | fields["apply"]
    return applied


def _noop_warning(row: dict, grayscale_fraction: float) -> str | None:
    share = row["stats"]["noop_share"]
    if share is None or share < NOOP_WARN_SHARE:
        return None
    text = (f"warning: {row['label']} changed nothing on {share:.0%} of the {row['stats']['n_applied']} "
            f"images it was applied to")
    if (row["op"].startswith("ColorJitter") or row["op"] == "RandomGrayscale") and grayscale_fraction > 0:
        text += (f" (grayscale images have no colour to change; {grayscale_fraction:.0%} of this dataset is "
                 f"grayscale): drop it or expect no effect from it")
    return text


def untimed_backends(functions: dict, policy) -> dict[str, str]:
    """``{backend: why}`` for the backends of ``functions`` that cannot apply ``policy``: albumentations
    has no automatic policies; torchvision and kornia do not apply fields only the engine implements
    (RandAugment's ``magnitude_std``).  Their throughput cells read n/a."""
    from augstudy.policy.backends.engine_only import engine_only_reason
    from augstudy.policy.backends.no_auto_equivalent import AUTO_OPS, REASONS

    has_auto = any(spec.op in AUTO_OPS for spec in policy.ops)
    out = {}
    for name in functions:
        reason = REASONS.get(name) if has_auto else None
        reason = reason or engine_only_reason(policy, name)
        if reason:
            out[name] = reason
    return out


def _timed_functions(functions: dict, policy) -> dict:
    """The backends to time on ``policy``: those that can apply it (:func:`untimed_backends`), plus
    torchvision's own transform for a lone automatic policy op that torchvision can apply."""
    from augstudy.measure.native import NATIVE, native_apply

    skipped = untimed_backends(functions, policy)
    out = {name: fn for name, fn in functions.items() if name not in skipped}
    native = native_apply(policy)
    if native is not None and "torchvision" in out:
        out[NATIVE] = native
    return out


def measure_policy(policy_spec, *, data=None, backends=None, model_path=None, n: int = DEFAULT_N, seed: int = 0,
                   equivalence: bool = False, progress: bool = True, throughput_seconds: float = 0.25,
                   log=None) -> dict:
    """Measure a policy and each of its ops; returns one JSON-ready dict (see ``augstudy measure --json``).

    Args:
        policy_spec: preset name, policy file, dict or Policy.
        data: dataset path (default: the default dataset, see ``augstudy.data.resolve_data_path``) or an
            ``ImageDataset`` (e.g. from ``augstudy.data.dataset_from_tensors``).
        backends: backend names to time (default: all four).
        model_path: checkpoint of a clean-trained CNN for affinity (None: affinity skipped, with a note).
        n: number of validation images (capped at the split's size).
        seed: draw seed.
        equivalence: also compute the cross-backend equivalence table.
        log: ``log(message)`` for informational lines (default: discard).
    """
    from augstudy.data import ImageDataset, load_dataset_folder, resolve_data_path
    from augstudy.data.in_memory import IN_MEMORY_KIND
    from augstudy.policy import load_policy, sample_draw
    from augstudy.progress import progress as progress_bar

    log = log or (lambda message: None)
    if n < 1:
        raise UserError(f"--n must be >= 1, got {n}")
    policy = load_policy(policy_spec)
    names = parse_backends(backends)
    functions = backend_functions(names)
    stats_backend = "augstudy" if "augstudy" in names else "torchvision"
    stats_apply = functions.get(stats_backend) or backend_functions([stats_backend])[stats_backend]
    clean = _load_clean(model_path) if model_path else None

    if isinstance(data, ImageDataset):   # already loaded, or built in memory
        dataset, path = data, None if data.source_kind == IN_MEMORY_KIND else data.root
    else:
        path, message = resolve_data_path(data)
        log(message)
        dataset = load_dataset_folder(path, image_size=policy.image_size, progress=progress)
    n = min(n, int(dataset.val_images.shape[0]))
    images = dataset.val_images[:n].clone()
    labels = dataset.val_labels[:n].clone()
    indices = torch.arange(n)
    devices = available_devices()

    affinity_state = None
    if clean is not None:
        from augstudy.measure.affinity import accuracy, train_channel_norm

        model, info = clean
        if info["num_classes"] != dataset.num_classes:
            raise UserError(f"--model {model_path}: the model has {info['num_classes']} classes but "
                            f"{dataset.name} has {dataset.num_classes}; pass the model trained on this dataset")
        norm = info["norm"] or train_channel_norm(dataset.train_images)
        from augstudy.models import INPUT_SIZES

        side = INPUT_SIZES[info["name"]][-1]
        clean_acc = accuracy(model, images, labels, norm, side)
        affinity_state = (model, norm, side, clean_acc, info)

    variants = measured_variants(policy)
    timed_batch = min(DEFAULT_BATCH, n)
    rows, warnings = [], []
    bar = progress_bar(total=len(variants), desc=f"measure {policy.name}", unit="row", disable=not progress or None)
    try:
        for variant in variants:
            draw = sample_draw(variant["policy"], seed=seed, epoch=0, indices=indices)
            after = stats_apply(images, variant["policy"], draw)
            applied = _applied_any(draw) if draw.ops else torch.zeros(n, dtype=torch.bool)
            row = {"label": variant["label"], "kind": variant["kind"], "op": variant["op"], "p": variant["p"],
                   "stats": pixel_shift(images, after, applied)}
            if variant["kind"] != "sub-op":
                batch_draw = draw.select(slice(0, timed_batch))
                throughput = measure_backends(_timed_functions(functions, variant["policy"]), images[:timed_batch],
                                              variant["policy"], batch_draw, devices, min_seconds=throughput_seconds)
                row["throughput"] = throughput
                row["throughput_ratio"] = ratios_to(throughput)
                skipped = untimed_backends(functions, variant["policy"])
                if skipped:
                    row["throughput_na"] = skipped
            if affinity_state is not None and variant["kind"] != "sub-op":   # sub-ops: diagnostics only
                from augstudy.measure.affinity import accuracy, affinity_ratio

                model, norm, side, clean_acc, _ = affinity_state
                augmented_acc = accuracy(model, after, labels, norm, side)
                row["affinity"] = {"clean_acc": clean_acc, "augmented_acc": augmented_acc,
                                   "affinity": affinity_ratio(clean_acc, augmented_acc)}
            warning = _noop_warning(row, float(dataset.grayscale_fraction)) if variant["kind"] != "policy" else None
            if warning:
                warnings.append(warning)
            rows.append(row)
            bar.update(1)
    finally:
        bar.close()

    policy_row = rows[0]
    result = {
        "policy": policy.name,
        "policy_spec": policy.to_dict(),
        "dataset": dataset.name,
        "data_path": None if path is None else str(path),
        "grayscale_fraction": float(dataset.grayscale_fraction),
        "device": device_description(devices),
        "devices": devices,
        "n": n,
        "seed": seed,
        "image_size": policy.image_size,
        "throughput_batch": timed_batch,
        "throughput_batch_per_image": min(PER_IMAGE_BATCH, timed_batch),
        "stats_backend": stats_backend,
        "backends": names,
        "throughput": policy_row.get("throughput", {}),
        "throughput_ratio": policy_row.get("throughput_ratio", {}),
        "stats": policy_row["stats"],
        "ops": rows[1:],
        "warnings": warnings,
        "affinity": policy_row.get("affinity"),
        "affinity_note": None if clean is not None else _how_to_get_a_model(),
        "model": None if clean is None else {"path": str(model_path), **{k: v for k, v in clean[1].items() if k != "norm"}},
        "diversity_note": DIVERSITY_NOTE,
        "equivalence": None,
    }
    if policy_row.get("throughput_na"):
        result["throughput_na"] = policy_row["throughput_na"]   # {backend: why its cells read n/a}
    if equivalence:
        from augstudy.policy.equivalence import colour_fields, equivalence_table

        result["equivalence"] = equivalence_table(colour_fields(min(n, 32), size=policy.image_size, seed=seed),
                                                  seed=seed, backends=[b for b in names if b != "torchvision"])
        result["equivalence_images"] = "synthetic smooth colour fields (so colour ops are exercised)"
        if any(spec.op in ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix") for spec in policy.ops):
            from augstudy.policy.auto_equivalence import auto_equivalence_table

            fields = colour_fields(min(n, 32), size=policy.image_size, seed=seed)
            result["auto_equivalence"] = [row for backend in ("augstudy", "kornia") if backend in names
                                          for row in auto_equivalence_table(fields, seed=seed, backend=backend)]
    return result


def _how_to_get_a_model() -> str:
    from augstudy.measure.affinity import HOW_TO_GET_A_MODEL

    return HOW_TO_GET_A_MODEL


def _load_clean(model_path):
    from augstudy.measure.affinity import load_clean_model

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return load_clean_model(Path(model_path), device=device)


__all__ = ["measure_policy", "measured_variants", "untimed_backends", "parse_backends", "ALL_BACKENDS", "DEFAULT_N", "DIVERSITY_NOTE"]
