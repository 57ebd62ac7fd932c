"""``augstudy.measure``: what a policy does to images and how fast, as a :class:`MeasureResult`.

The same measurement as ``augstudy measure`` (:func:`augstudy.measure.measure_policy`), returned
as an object with attributes instead of a dict; :meth:`MeasureResult.to_dict` is the JSON the
command writes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from augstudy.api.data import DataSource, is_path_like, load_dataset


@dataclass
class MeasureResult:
    """One policy measured on ``n`` validation images with draws from ``seed``.

    Units: throughput in images per second (``"<backend>@cuda"`` keys for GPU timings), ratios
    relative to torchvision (> 1 = faster); pixel statistics in 0..255 units per channel (R, G, B),
    clipping as fractions in [0, 1], PSNR in dB, ``noop_share`` the fraction of images an op was
    applied to but left unchanged.
    """

    policy: str                              # the policy's name
    dataset: str                             # the dataset's name
    n: int                                   # validation images measured
    seed: int                                # draw seed
    device: str                              # "cpu" or "cpu+cuda (<GPU name>)"
    throughput: dict[str, float]             # backend -> images/s for the whole policy
    throughput_ratio: dict[str, float | None]  # backend -> speed / torchvision's
    stats: dict[str, Any]                    # the whole policy's pixel statistics (mean/std before/after, ...)
    ops: list[dict[str, Any]]                # one row per op (and ColorJitter factor): label, stats, throughput
    warnings: list[str]                      # ops that changed nothing on many images, with why
    affinity: dict[str, float] | None = None  # clean_acc, augmented_acc, affinity (needs a clean model)
    equivalence: list[dict] | None = None    # cross-backend differences (``equivalence=True``)
    record: dict[str, Any] = field(default_factory=dict, repr=False)  # everything measured

    @classmethod
    def from_dict(cls, result: dict[str, Any]) -> "MeasureResult":
        """From :func:`augstudy.measure.measure_policy`'s dict (kept whole in :attr:`record`)."""
        return cls(policy=result["policy"], dataset=result["dataset"], n=int(result["n"]), seed=int(result["seed"]),
                   device=result["device"], throughput=dict(result["throughput"]),
                   throughput_ratio=dict(result["throughput_ratio"]), stats=dict(result["stats"]),
                   ops=list(result["ops"]), warnings=list(result["warnings"]), affinity=result.get("affinity"),
                   equivalence=result.get("equivalence"), record=result)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict ``augstudy measure --json`` prints (a copy)."""
        return copy.deepcopy(self.record)

    def table(self) -> str:
        """The terminal tables of ``augstudy measure`` (throughput, pixel statistics, warnings)."""
        from augstudy.measure import format_result

        return format_result(self.record)

    def ops_frame(self):
        """One pandas row per measured op: label, p, SSIM, PSNR (dB), no-op share, img/s per backend."""
        import pandas as pd

        rows = []
        for row in [{"label": "policy", "p": self.record.get("policy_spec", {}).get("p", 1.0), "stats": self.stats,
                     "throughput": self.throughput}, *self.ops]:
            stats = row["stats"]
            rows.append({"label": row["label"], "p": row.get("p"), "ssim": stats.get("ssim"),
                         "psnr_db": stats.get("psnr_db"), "noop_share": stats.get("noop_share"),
                         **{f"img_per_s[{k}]": v for k, v in (row.get("throughput") or {}).items()}})
        return pd.DataFrame(rows)

    def write(self, out_dir: str | Path = "reports") -> tuple[Path, Path]:
        """Write ``measure-<policy>.json`` and ``.csv`` into ``out_dir`` (atomically); returns both paths."""
        from augstudy.measure import write_result

        return write_result(self.record, out_dir)

    def __str__(self) -> str:
        return self.table()


def measure(policy: Any, data: DataSource = None, *, n: int = 512, seed: int = 0,
            backends: str | Sequence[str] | None = None, model: str | Path | None = None, equivalence: bool = False,
            progress: bool = False, out: str | Path | None = None) -> MeasureResult:
    """Measure ``policy`` and each of its ops on ``n`` validation images of ``data``.

    Args:
        policy: a preset name, a policy file, a dict or a ``Policy``.
        data: anything :func:`augstudy.load_dataset` takes (default: the default dataset).
        n: validation images measured (capped at the split's size).
        seed: seed of the augmentation draws.
        backends: backends to time (default: torchvision, kornia, albumentations, augstudy).
        model: a checkpoint of the CNN trained without augmentation, for affinity (default: skipped).
        equivalence: also compute the cross-backend equivalence table.
        out: a folder: ``measure-<policy>.json`` and ``.csv`` are written there; ``None``: nothing written.
    """
    from augstudy.measure import measure_policy
    from augstudy.policy import load_policy

    loaded = load_policy(policy)  # a bad policy fails before the dataset loads
    dataset = data if is_path_like(data) else load_dataset(data, image_size=loaded.image_size)
    result = MeasureResult.from_dict(measure_policy(loaded, data=dataset, backends=backends, model_path=model, n=n,
                                                    seed=seed, equivalence=equivalence, progress=progress))
    if out is not None:
        result.write(out)
    return result


__all__ = ["MeasureResult", "measure"]
