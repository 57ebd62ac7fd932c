"""The preview of a MixUp/CutMix arm: which image each train image is mixed with, and at what lambda.

One PNG per mixing arm (``previews/<arm>.png``, the file the report shows beside the policy previews):
``PREVIEW_IMAGES`` class-stratified train images of the arm's budget subset, each after the arm's policy
draw and its mix, captioned ``#i (class) x #j (class)`` and ``mixup|cutmix lam=0.625`` (dataset indices; lam
is the own image's and label's weight after CutMix's box correction).  The draws are exactly those of run
seed ``PREVIEW_SEED`` at epoch 1 (policy keyed by the seed, mix by ``derive_seed(seed, "mix")``, partners
among the arm's train subset), so the figure shows what that run trains on.  A JSON record beside the PNG
holds the pairs and lambdas as numbers.

``augstudy preview --mixup/--cutmix`` and ``augstudy.preview(mixup=, cutmix=)`` draw the same figure for a
policy and a ``mix`` section outside a study (:func:`build_mix_preview`: the whole train split, run seed
``seed``, epoch 1, so the pairs are those a study arm with that config and seed draws on that data).  Their
record is a replay record (``augstudy_preview`` format, ``mode: "mix"``) that also holds the policy, the
data path and checksums; :func:`replay_mix_preview` re-draws it (the draws are keyed, so nothing needs
storing) and refuses when the images or the draws no longer match the record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augstudy.atomic import atomic_path, atomic_write_json
from augstudy.errors import UserError

PREVIEW_EPOCH = 1
#: ``mode`` of the replay record ``augstudy preview --mixup/--cutmix`` writes
MIX_MODE = "mix"
#: the ``mix`` section's fields as ``augstudy preview`` flags (error lines name the flag)
MIX_FLAGS = {"mixup_alpha": "--mixup", "cutmix_alpha": "--cutmix", "prob": "--mix-prob",
             "switch_prob": "--switch-prob"}


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


def mix_title(mix: dict, seed: int, policy_name: str | None = None, where: str | None = None) -> str:
    """The figure's title line: the mix settings, seed and epoch (a study arm's preview names nothing
    else; ``augstudy preview`` adds the policy and where the images come from)."""
    head = f"{policy_name} + " if policy_name else ""
    tail = f", {where}" if where else ""
    return (f"{head}MixUp alpha {mix.get('mixup_alpha')}, CutMix alpha {mix.get('cutmix_alpha')}, "
            f"p {mix.get('prob')}, switch {mix.get('switch_prob')}: seed {seed}, epoch {PREVIEW_EPOCH}{tail}")


def mix_figure(mixed, captions: list[str], title: str):
    """The mixed images (float ``[n, 3, S, S]`` in [0, 1]) 4 to a row, each captioned; a matplotlib
    ``Figure`` on an Agg canvas (no pyplot: no global state, shown once in a notebook), 2.4 x 3.2 in a cell."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cols = min(4, len(captions))
    rows = (len(captions) + cols - 1) // cols
    fig = Figure(figsize=(2.4 * cols, 3.2 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(captions):
            ax.imshow(mixed[k].permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(captions[k], fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return fig


def save_figure(fig, target: Path, record: dict) -> Path:
    """``fig`` as the PNG ``target`` (no software metadata: equal figures, equal bytes) and ``record``
    beside it (``.json``), each written atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    atomic_write_json(target.with_suffix(".json"), record)
    return target


def write_mix_preview(config: dict, dataset, target: Path, n: int = 8, seed: int = 0) -> Path:
    """Render the arm's mix preview to ``target`` (PNG) and its record beside it (``.json``), atomically."""
    mixed, captions, record = mix_preview_rows(config, dataset, n, seed)
    mix = config.get("mix") or {}
    return save_figure(mix_figure(mixed, captions, mix_title(mix, seed)), target,
                       {"kind": "mix", "seed": seed, "epoch": PREVIEW_EPOCH, "mix": mix, "pairs": record})


# ----------------------------------------------------------------------------- outside a study
def check_mix_options(mixup, cutmix, prob, switch_prob, names: dict[str, str] | None = None) -> dict:
    """The run config's ``mix`` section of these values, checked by its own model
    (:class:`~augstudy.ablation.spec.file_schema.MixSection`: same rules, same words); a bad value is one
    :class:`UserError` ``<name>: <rule>``, ``names`` mapping each field to what the user typed
    (default :data:`MIX_FLAGS`).  Returns ``{mixup_alpha, cutmix_alpha, prob, switch_prob}`` (floats or None)."""
    from pydantic import ValidationError

    from augstudy.ablation.spec.file_schema import MixSection

    names = names or MIX_FLAGS
    values = {"mixup_alpha": mixup, "cutmix_alpha": cutmix, "prob": prob, "switch_prob": switch_prob}
    try:
        section = MixSection.model_validate(values)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = str(err["loc"][0])
        raise UserError(f"{names.get(field, field)}: {(err.get('ctx') or {}).get('error', err['msg'])}") from None
    if section.mixup_alpha is None and section.cutmix_alpha is None:
        raise UserError(f"{names['mixup_alpha']} or {names['cutmix_alpha']}: give an alpha > 0 for a mix preview")
    return section.model_dump()


@dataclass
class MixPreview:
    """A drawn mix preview: ``figure`` (matplotlib, Agg canvas), ``record`` (its JSON replay record),
    ``rows`` (``[image, partner, kind, lam]`` text per image, for a table)."""

    figure: Any
    record: dict
    rows: list[list[str]]


def _sha256(tensor) -> str:
    return hashlib.sha256(tensor.contiguous().cpu().numpy().tobytes()).hexdigest()


def build_mix_preview(policy, dataset, mix: dict, n: int = 8, seed: int = 0) -> MixPreview:
    """The mix preview of ``policy`` (a ``Policy``) and the checked ``mix`` section on ``dataset``'s whole
    train split: ``n`` stratified train images, run seed ``seed``, epoch 1 -- what
    :func:`write_mix_preview` draws for a study arm with that config on that data."""
    import torch

    from augstudy.preview.record import RECORD_FORMAT

    config = {"data": {}, "augment": {"policy": policy.to_dict()}, "mix": dict(mix)}
    mixed, captions, pairs = mix_preview_rows(config, dataset, int(n), int(seed))
    where = f"train split of {dataset.name}"
    title = mix_title(mix, seed, policy.name, where)
    used = torch.tensor([i for p in pairs for i in (p["index"], p["partner"])], dtype=torch.int64)
    root = getattr(dataset, "root", None)
    record = {
        "augstudy_preview": RECORD_FORMAT, "mode": MIX_MODE, "kind": "mix", "seed": int(seed),
        "epoch": PREVIEW_EPOCH, "n": int(n), "split": "train", "dataset": dataset.name,
        "data_path": None if getattr(dataset, "source_kind", "in-memory") == "in-memory" or not root
        else str(Path(root).resolve()),
        "image_size": int(dataset.train_images.shape[-1]), "policy": policy.to_dict(), "mix": dict(mix),
        "images_sha256": _sha256(dataset.train_images[used]), "mixed_sha256": _sha256(mixed.float()),
        "pairs": pairs,
    }
    names = list(getattr(dataset, "class_names", []) or [])

    def label(i: int) -> str:
        y = int(dataset.train_labels[i])
        return f"#{i} ({names[y] if y < len(names) else y})"

    rows = [[label(p["index"]), label(p["partner"]) if p["kind"] != "none" else "-", p["kind"], f"{p['lam']:.3f}"]
            for p in pairs]
    figure = mix_figure(mixed, captions, _wrapped(title, min(4, len(captions))))
    return MixPreview(figure, record, rows)


def _wrapped(title: str, cols: int) -> str:
    """``title`` broken into lines that fit ``cols`` cells of 2.4 in at 8 pt (about 16 characters an inch)."""
    import textwrap

    return "\n".join(textwrap.wrap(title, width=max(30, int(2.4 * cols * 16))))


def replay_mix_preview(record: dict, dataset=None, source: str = "replay record") -> MixPreview:
    """Draw the preview of a :data:`MIX_MODE` record again (``dataset``: overrides the recorded data path).
    The draws are keyed, so the same policy, mix, seed and images give the same figure; a record whose
    images or pairs no longer match is refused in one line."""
    import torch

    from augstudy.policy import Policy
    from augstudy.preview.record import record_dataset

    missing = [k for k in ("seed", "n", "policy", "mix", "pairs", "images_sha256", "mixed_sha256") if k not in record]
    if missing:
        raise UserError(f"{source}: field(s) {', '.join(missing)} missing; re-create it with augstudy preview")
    dataset = record_dataset(record, dataset, source)
    try:
        policy = Policy.from_dict(record["policy"], source=f"{source}: policy")
    except UserError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{source}: field 'policy' is invalid ({exc}); re-create it with augstudy preview") from exc
    mix = record["mix"] if isinstance(record["mix"], dict) else {}
    mix = check_mix_options(*(mix.get(k) for k in MIX_FLAGS), names={k: f"{source}: field 'mix.{k}'" for k in MIX_FLAGS})
    try:   # the images the record used, looked up in this dataset before anything is drawn
        used = [int(p[k]) for p in record["pairs"] for k in ("index", "partner")]
        n, seed = int(record["n"]), int(record["seed"])
    except (TypeError, KeyError, ValueError):
        raise UserError(f"{source}: field 'pairs', 'n' or 'seed' is invalid; re-create it with augstudy preview") from None
    if max(used, default=0) >= len(dataset.train_labels) or min(used, default=0) < 0 or \
            _sha256(dataset.train_images[torch.tensor(used, dtype=torch.int64)]) != record["images_sha256"]:
        raise UserError(f"{source}: the train images of {dataset.name} differ from the ones previewed; pass the "
                        f"original dataset with --data")
    built = build_mix_preview(policy, dataset, mix, n=n, seed=seed)
    if built.record["pairs"] != record["pairs"] or built.record["mixed_sha256"] != record["mixed_sha256"]:
        raise UserError(f"{source}: this augstudy version draws other pairs or pixels than the record holds; "
                        f"re-create it with augstudy preview")
    return built


def write_mix_record_preview(built: MixPreview, target) -> Path:
    """``built``'s PNG at ``target`` and its replay record beside it (``<name>.json``), atomically; never
    over a file that is not an earlier preview (:func:`~augstudy.preview.record.check_preview_target`)."""
    from augstudy.preview.record import check_preview_target

    return save_figure(built.figure, check_preview_target(target, f"--out {target}"), built.record)


__all__ = ["write_mix_preview", "mix_preview_rows", "mix_figure", "mix_title", "save_figure", "PREVIEW_EPOCH",
           "MIX_MODE", "MIX_FLAGS", "MixPreview", "check_mix_options", "build_mix_preview", "replay_mix_preview",
           "write_mix_record_preview"]
