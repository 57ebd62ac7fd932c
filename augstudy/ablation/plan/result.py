"""What ``augstudy plan`` returns and prints: :class:`PlanResult`, its table, plan.json and plan.csv.

Units: effects, SESOI and sds in accuracy points; rates as fractions in [0, 1] (printed as %);
runs count every arm's seeds plus the baseline's; hours are wall-clock hours of one device
running the runs one after another (the pilot's measured mean time per run).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from augstudy.ablation.terms import Verdict
from augstudy.atomic import atomic_write_json, atomic_write_text, ensure_writable_folder

PLAN_JSON, PLAN_CSV = "plan.json", "plan.csv"
CSV_COLUMNS = ("question", "target", "effect", "arms", "val_size", "sesoi", "seeds", "runs", "power",
               "power_se", "false_any", "hours", "auto_runs", "auto_runs_se", "auto_runs_vs_fixed", "auto_power",
               "auto_power_se", "auto_hours", "auto_false_any", "sims")


@dataclass
class PlanRow:
    """One question of the plan.

    seeds: paired seeds a fixed design needs to reach ``power`` (None: more than ``max_seeds``).
    power: simulated rate of the wanted verdict at ``seeds`` (at ``max_seeds`` when None), with
        its Monte-Carlo standard error ``power_se``.
    auto_*: the same question under ``--seeds auto`` (start 3, batches of 2, max 20 by default):
        mean runs (and its standard error), the wanted verdict's rate, and the share of
        simulated studies with a false better/worse on an arm whose true effect is 0.
    """

    question: str
    target: Verdict             # better | equivalent
    effect: float               # true effect of the arm asked about (0 for equivalence), points
    seeds: int | None
    runs: int | None
    power: float
    power_se: float
    hours: float | None
    auto_runs: float | None = None
    auto_runs_se: float | None = None
    auto_power: float | None = None
    auto_power_se: float | None = None
    auto_hours: float | None = None
    auto_false_any: float | None = None
    false_any: float | None = None  # share of studies with a better/worse on an arm truly at 0, at `seeds`
    curve: dict = field(default_factory=dict)     # {seeds: simulated rate} of every count evaluated


@dataclass
class PlanResult:
    """The plan: inputs, the calibrated data model, one :class:`PlanRow` per question."""

    rows: list[PlanRow]
    arms: int
    val_size: int
    sesoi: float
    alpha: float
    power: float
    sims: int
    auto_sims: int
    seed: int
    max_seeds: int
    noise: dict                 # the NoiseEstimate used (points / fractions)
    model: dict                 # the calibrated DataModel (logit scale)
    source: str                 # "numbers" or the pilot folder
    seconds_per_run: float | None
    device: str | None
    elapsed_s: float
    auto_schedule: list[int] = field(default_factory=list)
    run_time_source: str = "given"   # "given" (run_minutes) or "measured" (the pilot's runs)
    notes: list[str] = field(default_factory=list)
    pilot: dict | None = None
    paths: dict = field(default_factory=dict)

    @property
    def hours_label(self) -> str:
        dev = (self.device or "").lower()
        return "GPU h" if dev.startswith("cuda") or "gpu" in dev else "CPU h"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["paths"] = {k: str(v) for k, v in self.paths.items()}
        return out

    def csv_text(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            vs_fixed = (r.auto_runs / r.runs) if (r.auto_runs is not None and r.runs) else None
            w.writerow({"question": r.question, "target": r.target, "effect": r.effect, "arms": self.arms,
                        "val_size": self.val_size, "sesoi": self.sesoi, "seeds": _cell(r.seeds),
                        "runs": _cell(r.runs), "power": _cell(r.power), "power_se": _cell(r.power_se),
                        "false_any": _cell(r.false_any),
                        "hours": _cell(r.hours), "auto_runs": _cell(r.auto_runs),
                        "auto_runs_se": _cell(r.auto_runs_se), "auto_runs_vs_fixed": _cell(vs_fixed),
                        "auto_power": _cell(r.auto_power), "auto_power_se": _cell(r.auto_power_se),
                        "auto_hours": _cell(r.auto_hours), "auto_false_any": _cell(r.auto_false_any),
                        "sims": self.sims})
        return buf.getvalue()

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write ``plan.json`` and ``plan.csv`` into folder ``out`` (atomically); returns their paths."""
        folder = ensure_writable_folder(Path(out))
        self.paths = {"json": folder / PLAN_JSON, "csv": folder / PLAN_CSV}
        atomic_write_json(self.paths["json"], _jsonable(self.to_dict()))
        atomic_write_text(self.paths["csv"], self.csv_text())
        return self.paths

    def table(self) -> str:
        """The terminal view: what was assumed, then one line per question."""
        n = self.noise
        lines = [
            f"augstudy plan: {self.arms} arm{'s' if self.arms != 1 else ''} vs a baseline, {self.val_size:,} val "
            f"images, SESOI +-{self.sesoi:g} pts, alpha {self.alpha:g} (Holm over the arms), "
            f"{self.power:.0%} power",
            f"noise ({self.source}): seed sd {n['seed_sd']:.3g} pts per paired difference at {n['ref_val']:,} images "
            f"({self.model['seed_sd']:.3g} at {self.val_size:,}), val accuracy {n['accuracy']:.3g}, "
            f"churn {self.model['churn']:.3g}, val-set sd {n['val_sd']:.3g} pts",
            f"simulated: {self.sims} studies per seed count"
            f"{f' ({self.auto_sims} under seeds auto)' if self.auto_sims else ''}, seed {self.seed}; "
            f"per-example correctness decided by augstudy.ablation.analysis.stats.decide / sequential.replay; "
            f"'better at +X': one arm at +X, the others at 0",
        ]
        hours = self.seconds_per_run is not None
        head = ["question", "seeds", "runs", "power", "auto runs", "vs fixed", "auto power"]
        if hours:
            head += [self.hours_label, f"auto {self.hours_label}"]
        body = []
        for r in self.rows:
            seeds = str(r.seeds) if r.seeds is not None else f">{self.max_seeds}"
            power = f"{r.power:.0%} +-{r.power_se:.0%}" + ("" if r.seeds is not None else f" at {self.max_seeds}")
            cells = [r.question, seeds, _fmt_int(r.runs), power,
                     "-" if r.auto_runs is None else f"{r.auto_runs:.1f}",
                     "-" if r.auto_runs is None or not r.runs else f"{r.auto_runs / r.runs:.0%}",
                     "-" if r.auto_power is None else f"{r.auto_power:.0%}"]
            if hours:
                cells += [_fmt_hours(r.hours), _fmt_hours(r.auto_hours)]
            body.append(cells)
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        fmt = lambda cells: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                      for i, (c, w) in enumerate(zip(cells, widths)))
        lines += ["", fmt(head), fmt(["-" * w for w in widths])] + [fmt(c) for c in body]
        lines.append("")
        lines.append(f"seeds: paired seeds per arm for a fixed design (--seeds N); runs = (arms + 1) x seeds; "
                     f"power +- its Monte-Carlo standard error. auto: --seeds auto (looks at "
                     f"{', '.join(map(str, self.auto_schedule))} seeds), mean runs and its rate of the same verdict.")
        null = next((r for r in self.rows if r.target == Verdict.EQUIVALENT), None)
        if null is not None and null.false_any is not None and math.isfinite(null.false_any):
            at = null.seeds if null.seeds is not None else self.max_seeds
            auto = ("" if null.auto_false_any is None or not math.isfinite(null.auto_false_any)
                    else f", under seeds auto {null.auto_false_any:.1%}")
            lines.append(f"false claims (every arm truly 0): a better/worse in {null.false_any:.1%} of the simulated "
                         f"studies at {at} seeds{auto} (the table promises at most {self.alpha:.0%}).")
        if any(r.seeds is None for r in self.rows):
            lines.append(f">{self.max_seeds}: not reached with up to {self.max_seeds} paired seeds (power shown "
                         f"there): raise --max-seeds; where the val set's own noise dominates (it does not shrink with "
                         f"seeds) only a larger --val-size helps.")
        if hours:
            lines.append(f"hours: {self.seconds_per_run / 60:.2f} min per run ({self.run_time_source}"
                         f"{' on ' + self.device if self.device else ''}), runs one after another.")
        lines += [f"note: {x}" for x in self.notes]
        return "\n".join(lines) + "\n"


def _cell(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return f"{v:.6g}" if isinstance(v, float) else v


def _fmt_int(v) -> str:
    return "-" if v is None else f"{v:,}"


def _fmt_hours(h) -> str:
    return "-" if h is None else (f"{h:.2f}" if h < 10 else f"{h:,.0f}")


def _jsonable(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj
