"""One training run of the fixed CNN: GPU-first, airbench-style, the same code on CPU.

:func:`train_run` is a pure function of ``(config, data, seed, device, checkpoint)``:
everything random is keyed by the run seed, so a run is reproduced exactly on the
same device, resumed exactly from a checkpoint, and *paired* across arms:

- initialization: ``torch.manual_seed(derive_seed(seed, "init"))`` right before the
  model is built on the CPU (then moved), so every arm with the same architecture
  starts from the same weights on every device;
- data order: a permutation drawn on the CPU from
  ``torch.Generator().manual_seed(derive_seed(seed, "order", epoch))`` and then moved,
  identical across devices and arms (a batch_size arm batches the same permutation
  differently);
- augmentation: :class:`augstudy.policy.BatchAugmenter` keyed by (seed, epoch, sample
  index), the index being the image's position in the full dataset;
- ``data.order_key`` (default 0): a non-zero key shifts the data-order and augmentation
  keys (:func:`epoch_order`, :func:`augment_seed`) but not the initialization, so an arm
  that differs only by it is a placebo whose paired differences are genuine noise;
- dropout masks: the global RNG reseeded with ``derive_seed(seed, "dropout", epoch)``
  at the start of every epoch (so a resumed epoch replays them too).

The whole (subset of the) dataset lives on the training device as uint8; a batch is
an index slice of the permutation, augmented in one batched call on that device, then
normalized with the train set's per-channel mean/std, in channels_last (``cudnn.benchmark``
on CUDA).  ``precision`` (:mod:`augstudy.ablation.execution.precision`) says whether the forward pass runs
under bf16 autocast; ``compile`` runs it through ``torch.compile`` (eager on failure).  There
are no DataLoader workers and no per-image Python.

Checkpoints: see :func:`train_run` and :mod:`augstudy.ablation.execution.checkpoint_schedule` (by time, at any
step boundary: a mid-epoch state holds the step, the epoch's running sums and the RNG state).

Regularizers beside the policy, each in its own module: ``mix`` (MixUp/CutMix with keyed partners and
soft targets, :mod:`augstudy.ablation.execution.mixing`), ``ema`` (weight EMA, evaluated instead of the live weights,
:mod:`augstudy.ablation.execution.ema`) and ``eval.tta`` (flip test-time augmentation, :mod:`augstudy.ablation.execution.tta`).
With label smoothing ``eps`` the train loss is the cross-entropy against the smoothed (and, when mixing,
mixed) targets, so it cannot fall below their entropy; ``train_acc`` of a mixing run is the target-weighted
hit rate on mixed images (:mod:`augstudy.ablation.execution.mixing`).

Units: losses are mean cross-entropy (nats) per example; accuracies are fractions
in [0, 1]; ``lr`` is the learning rate in use at the end of the epoch; ``wall_s``
is seconds.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import torch
from torch import nn

from augstudy.ablation.execution.checkpoints import host_copy, rng_state, set_rng_state
from augstudy.ablation.execution.ema import make_ema
from augstudy.ablation.execution.mixing import make_mix_step
from augstudy.ablation.execution.precision import resolve_device  # noqa: F401 - its home before precision.py
from augstudy.ablation.storage.schema import pack_correct
from augstudy.ablation.execution.tta import tta_mode
from augstudy.data.stats import channel_stats
from augstudy.errors import InterruptedByUser, UserError

#: checkpoint layout version (bump when the dict below changes; 2 added the optional mid-epoch ``partial``)
CHECKPOINT_FORMAT = 2
#: formats this version resumes from (format 1 is format 2 without ``partial``)
RESUMABLE_FORMATS = (1, 2)


def derive_seed(seed: int, *keys) -> int:
    """A 63-bit seed that is a pure function of ``seed`` and ``keys`` (stable across processes,
    unlike Python's salted ``hash``)."""
    text = "/".join(map(str, (seed, *keys)))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") & (2**63 - 1)


# ----------------------------------------------------------------------------- data
@dataclass
class TrainData:
    """The tensors one run trains and evaluates on (all on one device).

    ``train_images``: uint8 ``[N, 3, H, W]``; ``train_labels``: int64 ``[N]``;
    ``train_indices``: int64 ``[N]`` each image's index in the full dataset (keys its
    augmentation draws; kept on the CPU); ``val_images``: uint8 ``[M, 3, H, W]``;
    ``val_labels``: int64 ``[M]``.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    train_indices: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    num_classes: int

    def to(self, device: torch.device) -> "TrainData":
        return TrainData(self.train_images.to(device), self.train_labels.to(device), self.train_indices.cpu(),
                         self.val_images.to(device), self.val_labels.to(device), self.num_classes)

    @property
    def n_train(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def n_val(self) -> int:
        return int(self.val_labels.shape[0])


def stratified_subset(labels: torch.Tensor, size: int | float | None, seed: int) -> torch.Tensor:
    """Sorted int64 indices of a class-stratified subset of ``labels`` (int64 ``[N]``).

    ``size``: None = all, int = that many, float in (0, 1] = that fraction.  Each class
    keeps its share (largest remainders get the leftover slots); which images is drawn
    from a generator keyed by ``seed`` only, so every arm and run seed sees the same subset.
    """
    n = int(labels.shape[0])
    if size is None:
        return torch.arange(n)
    want = int(round(size * n)) if isinstance(size, float) else int(size)
    want = max(1, min(want, n))
    if want == n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(derive_seed(seed, "subset"))
    classes, counts = torch.unique(labels.cpu(), return_counts=True)
    exact = counts.double() * want / n
    take = exact.floor().long()
    leftover = want - int(take.sum())
    if leftover > 0:
        order = torch.argsort(exact - take.double(), descending=True, stable=True)
        take[order[:leftover]] += 1
    chosen = []
    for c, k in zip(classes.tolist(), take.tolist()):
        members = torch.nonzero(labels.cpu() == c).flatten()
        chosen.append(members[torch.randperm(len(members), generator=gen)[:k]])
    return torch.sort(torch.cat(chosen)).values


def subset_shortfalls(dataset, data_cfg: dict) -> list[str]:
    """One sentence per split whose budget subset (an int) asks for more images than ``dataset``
    holds: :func:`stratified_subset` then takes every image, so the study is smaller than its budget says."""
    notes = []
    for split, key in (("train", "train_subset"), ("val", "val_subset")):
        want, have = data_cfg.get(key), int(getattr(dataset, f"{split}_labels").shape[0])
        if isinstance(want, int) and not isinstance(want, bool) and want > have:
            notes.append(f"{key} {want} is larger than the dataset's {have} {split} images; using all {have}")
    return notes


def subset_indices(dataset, data_cfg: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The dataset indices (int64 ``[n_train]``, ``[n_val]``) of a config's ``data`` subsets (labels only)."""
    tr = stratified_subset(dataset.train_labels, data_cfg.get("train_subset"), data_cfg.get("subset_seed", 0))
    va = stratified_subset(dataset.val_labels, data_cfg.get("val_subset"), data_cfg.get("subset_seed", 0) + 1)
    return tr, va


def prepare_train_data(dataset, config: dict) -> TrainData:
    """Cut the budget's subsets out of an ``ImageDataset`` (see ``augstudy.data``), on the CPU."""
    tr, va = subset_indices(dataset, config["data"])
    return TrainData(dataset.train_images[tr].contiguous(), dataset.train_labels[tr].long(), tr.long(),
                     dataset.val_images[va].contiguous(), dataset.val_labels[va].long(),
                     int(dataset.num_classes))


def epoch_order(seed: int, epoch: int, n: int, order_key: int = 0) -> torch.Tensor:
    """The training permutation (int64 ``[n]``, on the CPU) of ``epoch`` (1-based) for run ``seed``;
    a non-zero ``order_key`` (config ``data.order_key``) draws another permutation for the same seed."""
    keys = ("order", epoch) if not order_key else ("order", f"key{int(order_key)}", epoch)
    gen = torch.Generator().manual_seed(derive_seed(seed, *keys))
    return torch.randperm(n, generator=gen)


def augment_seed(seed: int, order_key: int = 0) -> int:
    """The seed of the run's augmentation draws: ``seed`` itself, or a key derived from it when
    ``data.order_key`` is non-zero (the initialization keeps ``seed``)."""
    return int(seed) if not order_key else derive_seed(seed, "augment", f"key{int(order_key)}") % (2**31)


def iter_train_batches(data: TrainData, augmenter, seed: int, epoch: int, batch_size: int,
                       device: torch.device, order_key: int = 0, start_step: int = 0):
    """Yield ``(images float32 [B, 3, S, S] in [0, 1], labels int64 [B], dataset indices int64 [B] CPU)``
    for one epoch: slices of :func:`epoch_order`, augmented as one batch on ``device``.
    The last batch may be smaller (every image is seen once per epoch).  ``start_step`` skips
    that many batches (a mid-epoch resume: draws are keyed, so nothing else changes)."""
    order_cpu = epoch_order(seed, epoch, data.n_train, order_key)
    order_dev = order_cpu.to(device)
    for start in range(start_step * batch_size, data.n_train, batch_size):
        pos = order_dev[start:start + batch_size]
        indices = data.train_indices[order_cpu[start:start + batch_size]]
        images = augmenter(data.train_images[pos], indices, epoch)
        yield images, data.train_labels[pos], indices


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / batch_size)


# ----------------------------------------------------------------------------- results
@dataclass
class EpochResult:
    """One finished epoch (``epoch`` counts from 1).  ``class_correct``/``class_total``: per-class
    val counts (``class_total`` = val images of that class).  ``val_correct``: which val images
    the model got right, ``np.packbits`` of a bool ``[n_val]`` in the val subset's order
    (:func:`augstudy.ablation.storage.schema.unpack_correct`); None for a diverged epoch (not evaluated)."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float
    wall_s: float
    class_correct: list[int] = field(default_factory=list)
    class_total: list[int] = field(default_factory=list)
    val_correct: bytes | None = None

    @property
    def n_val(self) -> int:
        return int(sum(self.class_total))

    @property
    def finite(self) -> bool:
        return math.isfinite(self.train_loss) and math.isfinite(self.val_loss)

    @property
    def class_acc(self) -> list[float]:
        return [c / t if t else float("nan") for c, t in zip(self.class_correct, self.class_total)]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunOutcome:
    """How a run ended: ``status`` is ``done``, ``diverged`` (loss NaN/inf at ``diverged_epoch``) or
    ``failed`` (set by an executor when training raised; ``error`` is one line)."""

    status: str
    epochs_done: int
    diverged_epoch: int | None
    wall_s: float
    history: list[EpochResult]
    error: str | None = None


# ----------------------------------------------------------------------------- model and optimizer
def build_run_model(config: dict, num_classes: int, seed: int, device: torch.device) -> nn.Module:
    """The config's CNN, initialized from ``derive_seed(seed, "init")`` on the CPU, then moved to
    ``device`` in channels_last layout."""
    from augstudy.models import build_model_from_config

    torch.manual_seed(derive_seed(seed, "init"))
    model = build_model_from_config(config["model"], num_classes)
    return model.to(device=device, memory_format=torch.channels_last)


def effective_lr(config: dict) -> float:
    """``optimizer.lr`` is per 256 examples: the lr in use is ``lr * batch_size / 256``."""
    return config["optimizer"]["lr"] * config["train"]["batch_size"] / 256.0


def build_optimizer(config: dict, model: nn.Module) -> torch.optim.Optimizer:
    o = config["optimizer"]
    lr = effective_lr(config)
    if o["name"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=o["momentum"], nesterov=o["nesterov"],
                               weight_decay=o["weight_decay"])
    if o["name"] == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=o["weight_decay"])
    raise ValueError(f"unknown optimizer {o['name']!r}")


def lr_factor(schedule: dict, step: int, total_steps: int) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps (0..total_steps)."""
    if schedule["name"] == "constant":
        return 1.0
    warmup = int(round(schedule.get("warmup", 0.0) * total_steps))
    if step < warmup:
        return (step + 1) / (warmup + 1)
    progress = (step - warmup) / max(1, total_steps - warmup)
    progress = min(max(progress, 0.0), 1.0)
    if schedule["name"] == "warmup_linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(config: dict, optimizer, total_steps: int):
    schedule = dict(config["schedule"])
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(schedule, step, total_steps))


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model: nn.Module, data: TrainData, mean: torch.Tensor, std: torch.Tensor, batch_size: int,
             device: torch.device, tta: str = "none", precision: str | None = None,
             forward=None) -> tuple[float, float, list[int], list[int], torch.Tensor]:
    """Eval-mode val loss (mean CE), accuracy (fraction), per-class correct/total counts and the
    per-example correctness (bool ``[n_val]`` on the CPU, in the val subset's order); ``tta``: the
    test-time augmentation of :func:`augstudy.ablation.execution.tta.predict` (``none`` or ``flip``).
    ``precision``: see :func:`augstudy.ablation.execution.precision.autocast`; ``forward``: what computes the
    logits (default ``model``; a compiled forward of it)."""
    from augstudy.ablation.execution.precision import autocast
    from augstudy.ablation.execution.tta import predict

    forward = forward or model
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros(data.num_classes, dtype=torch.int64, device=device)
    total = torch.bincount(data.val_labels, minlength=data.num_classes)
    hits = []
    for start in range(0, data.n_val, batch_size):
        x = data.val_images[start:start + batch_size].float().div_(255.0)
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        y = data.val_labels[start:start + batch_size]
        with autocast(device, precision):
            logits = predict(forward, x, tta)
        loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum").double()
        hit = logits.argmax(1) == y
        correct += torch.bincount(y[hit], minlength=data.num_classes)
        hits.append(hit)
    n = max(1, data.n_val)
    per_example = torch.cat(hits).cpu() if hits else torch.zeros(0, dtype=torch.bool)
    return float(loss_sum) / n, float(correct.sum()) / n, correct.tolist(), total.tolist(), per_example


# ----------------------------------------------------------------------------- training
def make_augmenter(config: dict, seed: int, device: torch.device):
    """The batched engine for the config's resolved policy: ``(uint8 [B,3,H,W], indices [B], epoch)
    -> float32 [B,3,S,S] in [0, 1]``."""
    from augstudy.policy import BatchAugmenter, load_policy

    policy = load_policy(config["augment"]["policy"])
    return BatchAugmenter(policy, seed=augment_seed(seed, config["data"].get("order_key", 0)), device=device)


def train_run(config: dict, data: TrainData, seed: int, device: str | torch.device = "cpu", *,
              start_epoch: int = 0, checkpoint: dict | None = None,
              on_epoch: Callable[[EpochResult, dict | None], None] | None = None,
              on_step: Callable[[int], None] | None = None,
              augmenter=None, precision: str | None = None, compile: bool = False,
              schedule=None, on_checkpoint: Callable[[dict], None] | None = None,
              warn: Callable[[str], None] | None = None) -> RunOutcome:
    """Train ``config``'s CNN on ``data`` for run ``seed``; return how it ended.

    ``checkpoint``: a state from ``on_epoch`` or ``on_checkpoint`` (resume after its ``epoch``, from
    its ``partial`` epoch's step if any).  ``on_epoch(result, state)`` after every epoch: its metrics
    and, when a checkpoint is due, the state (model, optimizer, scheduler, epoch, history; CPU
    tensors) -- else, and for a diverged epoch, ``None``.  ``schedule``: a
    :class:`~augstudy.ablation.execution.checkpoint_schedule.CheckpointSchedule` (None: a state at every epoch
    end, none mid-epoch); mid-epoch states go to ``on_checkpoint(state)``, and a SIGINT/SIGTERM
    during the run checkpoints, then raises ``InterruptedByUser``.  ``on_step(1)`` is called
    after every optimizer step (progress bars).  ``precision``: ``fp32`` | ``bf16`` (None: bf16 on
    CUDA, fp32 on the CPU); ``compile``: ``torch.compile`` the model (eager on failure, one
    ``warn`` line).  ``augmenter`` overrides the policy's BatchAugmenter (tests only).
    A loss that turns NaN/inf ends the run with status ``diverged`` at that epoch.
    """
    from contextlib import nullcontext

    from augstudy.ablation.execution.precision import autocast, forward_fn

    device = torch.device(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    data = data.to(device)
    if data.n_train < 2:
        raise UserError(f"only {data.n_train} train image(s) after subsetting; use a larger budget or dataset")
    train_cfg = config["train"]
    batch_size, epochs = train_cfg["batch_size"], train_cfg["epochs"]
    total_steps = epochs * steps_per_epoch(data.n_train, batch_size)

    model = build_run_model(config, data.num_classes, seed, device)
    optimizer = build_optimizer(config, model)
    scheduler = build_scheduler(config, optimizer, total_steps)
    history: list[EpochResult] = []
    partial = None
    if checkpoint is not None:
        if checkpoint.get("format") not in RESUMABLE_FORMATS:
            raise ValueError(f"checkpoint format {checkpoint.get('format')} not in {RESUMABLE_FORMATS}")
        partial = checkpoint.get("partial")
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        history = [EpochResult(**h) for h in checkpoint["history"]]
        start_epoch = int(checkpoint["epoch"])
    augmenter = augmenter or make_augmenter(config, seed, device)
    mean, std = (t.to(device).view(1, 3, 1, 1) for t in channel_stats(data.train_images))
    criterion = nn.CrossEntropyLoss(label_smoothing=config["optimizer"]["label_smoothing"])
    # MixUp/CutMix keyed by a seed derived from the augmentation's (a placebo order_key shifts it too)
    mix = make_mix_step(config, data, augmenter, derive_seed(augment_seed(seed, config["data"].get("order_key", 0)),
                                                             "mix"))
    ema = make_ema(config, model, total_steps, checkpoint)
    eval_model, tta = (ema.module if ema is not None else model), tta_mode(config)
    forward = forward_fn(model, compile, **({"warn": warn} if warn else {}))
    eval_forward = forward if ema is None else ema.module   # the EMA copy is evaluated eagerly
    run_start = time.perf_counter()
    wall_before = sum(h.wall_s for h in history)
    n_steps = steps_per_epoch(data.n_train, batch_size)

    def state_now(epoch_done: int, part: dict | None = None) -> dict:
        state = {"format": CHECKPOINT_FORMAT, "epoch": epoch_done, "seed": seed,
                 "model": host_copy(model.state_dict()), "optimizer": host_copy(optimizer.state_dict()),
                 "scheduler": scheduler.state_dict(), "history": [h.to_dict() for h in history],
                 # what `augstudy measure --model` needs to rebuild and feed the model exactly
                 "config": {**config, "num_classes": data.num_classes},
                 "norm": {"mean": mean.flatten().tolist(), "std": std.flatten().tolist()}}
        if ema is not None:   # the weights the val metrics came from; "model" stays the live weights
            state["ema"] = host_copy(ema.state_dict())
        if part is not None:
            state["partial"] = part
        return state

    if schedule is not None:
        schedule.start()
    with schedule.deferring_signals() if schedule is not None else nullcontext():
        for epoch in range(start_epoch + 1, epochs + 1):
            t0 = time.perf_counter()
            model.train()
            first_step = 0
            if partial is not None and int(partial["epoch"]) == epoch:  # resume mid-epoch, exactly
                set_rng_state(partial["rng"], device)
                loss_sum = partial["loss_sum"].to(device)
                correct = partial["correct"].to(device)
                first_step, t0 = int(partial["step"]), t0 - float(partial["wall_s"])
            else:
                torch.manual_seed(derive_seed(seed, "dropout", epoch))
                loss_sum = torch.zeros((), dtype=torch.float64, device=device)
                correct = torch.zeros((), dtype=torch.float64, device=device)
            partial = None
            batches = iter_train_batches(data, augmenter, seed, epoch, batch_size, device,
                                         config["data"].get("order_key", 0), start_step=first_step)
            for step, (images, labels, indices) in enumerate(batches, start=first_step + 1):
                mixed = mix(images, labels, indices, epoch) if mix is not None else None   # MixUp/CutMix
                if mixed is not None:
                    images = mixed.images
                x = ((images - mean) / std).contiguous(memory_format=torch.channels_last)
                with autocast(device, precision):
                    logits = forward(x)
                    loss = criterion(logits.float(), labels) if mixed is None else mixed.loss(logits)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                if ema is not None:
                    ema.update(model)
                loss_sum += loss.detach().double() * labels.shape[0]
                correct += (logits.detach().argmax(1) == labels).sum() if mixed is None else mixed.hits(logits)
                if on_step is not None:
                    on_step(1)
                if schedule is not None and step < n_steps and schedule.due(epoch_end=False):
                    # copies: the running sums go on changing in place while the writer holds this state
                    part = {"epoch": epoch, "step": step, "loss_sum": host_copy(loss_sum),
                            "correct": host_copy(correct), "rng": rng_state(device),
                            "wall_s": time.perf_counter() - t0}
                    if on_checkpoint is not None:
                        on_checkpoint(state_now(epoch - 1, part))
                    schedule.saved()
                    if schedule.stop is not None:
                        raise InterruptedByUser(schedule.stop)
            train_loss = float(loss_sum) / data.n_train
            train_acc = float(correct) / data.n_train
            val_correct = None
            if math.isfinite(train_loss):
                val_loss, val_acc, class_correct, class_total, hits = evaluate(
                    eval_model, data, mean, std, train_cfg["eval_batch_size"], device, tta, precision, eval_forward)
                val_correct = pack_correct(hits.numpy())
            else:  # weights are NaN/inf already: evaluating would only repeat it
                val_loss, val_acc = float("nan"), float("nan")
                class_correct, class_total = [0] * data.num_classes, torch.bincount(
                    data.val_labels, minlength=data.num_classes).tolist()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            result = EpochResult(epoch, train_loss, train_acc, val_loss, val_acc,
                                 float(optimizer.param_groups[0]["lr"]), time.perf_counter() - t0,
                                 class_correct, class_total, val_correct)
            history.append(result)
            if not result.finite:
                if on_epoch is not None:
                    on_epoch(result, None)
                return RunOutcome("diverged", epoch, epoch, wall_before + time.perf_counter() - run_start, history)
            # a checkpoint at every epoch end without a schedule; with one, when due and after the last epoch
            due = schedule is None or epoch == epochs or schedule.due(epoch_end=True)
            if on_epoch is not None:
                on_epoch(result, state_now(epoch) if due else None)
            if schedule is not None and due:
                schedule.saved()
                if schedule.stop is not None and epoch < epochs:
                    raise InterruptedByUser(schedule.stop)
    return RunOutcome("done", epochs, None, wall_before + time.perf_counter() - run_start, history)

__all__ = [
    "TrainData", "EpochResult", "RunOutcome", "train_run", "prepare_train_data", "subset_indices",
    "stratified_subset",
    "derive_seed", "resolve_device", "epoch_order", "augment_seed", "iter_train_batches", "evaluate",
    "effective_lr", "lr_factor", "steps_per_epoch", "CHECKPOINT_FORMAT", "RESUMABLE_FORMATS", "make_augmenter",
]
