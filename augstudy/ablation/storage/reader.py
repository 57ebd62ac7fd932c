"""``Study``: the one read-only handle on a study folder, and ``load_study`` to open one.

A study folder (written by ``augstudy ablate`` or :func:`augstudy.ablate`) holds ``study.sqlite``
(the writer's store, :mod:`.store`) and the plain files exported from it by :mod:`.exporter`
(names and columns in :mod:`.schema`).  Like an Optuna study over its storage, a :class:`Study` is
a thin object over those files: it reads ``study.json`` and the exported CSVs (checked by
:mod:`.reader_files`), never opens ``study.sqlite``, never loads the dataset and writes nothing
(except :meth:`Study.report`, when asked).  The API (:func:`augstudy.load_study`), the report
(``augstudy report``) and the planner's pilot reader all use it.  A study that is still running
has some files missing or partial: the handle keeps what exists and :attr:`Study.missing` names
the rest, so a reader can say so instead of failing.

Every statistic is read as the analysis stored it (``effects.csv`` rows as
:class:`~augstudy.ablation.storage.schema.EffectRow`, ``arms.csv``, ``class_effects.csv``).  Two
tables are derived here, each by the analysis' own function, never by a second rule:
:attr:`Study.class_effects` for a folder exported before ``class_effects.csv`` existed (a documented
fallback), and :attr:`Study.seed_summaries`, the per-run stability and gap whose means arms.csv stores.

Units: ``effects``, ``class_effects`` and ``seed_summaries`` in accuracy points (100 x fraction);
accuracies in ``runs``, ``curves`` and ``class_metrics`` are fractions in [0, 1]; ``wall_s`` in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from augstudy.ablation.storage.cells import parse_bool
from augstudy.ablation.storage.schema import (CLASS_EFFECT_COLUMNS, EFFECTS_CSV, FINISHED_STATUSES, EffectRow,
                                              RunStatus, StudyPaths, gen_gap_na, read_effects_csv)
from augstudy.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from augstudy.ablation.terms import Verdict

#: the columns of :attr:`Study.seed_summaries`
SEED_SUMMARY_COLUMNS = ("arm", "seed", "stability", "gen_gap", "final_val_acc", "best_val_acc", "epochs", "status")


class Study:
    """A finished, running or interrupted study, read from its folder's exported files.

    The files are read (and checked) once when the handle is made; :meth:`reload` reads them again
    (a study another process is still training keeps changing).  Tables are returned as copies.
    Raises :class:`~augstudy.errors.UserError` (one line naming the file and the fix) when ``path``
    is not a study folder or one of its files is damaged.
    """

    def __init__(self, path: str | Path):
        from augstudy.ablation.storage import reader_files as files   # pandas: not on `import augstudy`

        self.path = Path(path)
        self._meta = files.read_meta(self.path)
        self._frames, missing = files.read_frames(self.path)
        #: the exported files not (yet) in the folder, e.g. ``["effects.csv"]`` before any effect
        self.missing: list[str] = missing
        files.check_runs_consistent(self.path, self._meta, self._frames["runs"], missing)
        try:
            self._effect_rows = read_effects_csv(self.path / EFFECTS_CSV)
        except ValueError as exc:
            raise UserError(f"{exc}; rerun 'augstudy ablate' to re-export it") from None
        files.check_rows_complete(self.path, self._meta, self._frames, self._effect_rows)
        self._class_effects = files.read_class_effects(self.path, self._meta, self._frames, self.baseline_arm)
        self._seed_summaries: "pd.DataFrame | None" = None
        from augstudy.ablation.designs import DESIGNS   # the designs' own modules: only when a study is read

        #: each study design's files as its ``read`` returned them (design name -> data; only the designs
        #: whose files the folder holds): :data:`augstudy.ablation.designs.DESIGNS`
        self.designs: dict[str, Any] = {d.name: data for d in DESIGNS if (data := d.read(self.path)) is not None}

    # -- tables ---------------------------------------------------------------------
    @property
    def effects(self) -> "pd.DataFrame":
        """``effects.csv``: one row per non-baseline arm in rank order (1 = best): ``effect_mean``,
        ``ci_low``/``ci_high`` (95% interval), ``p_value``, ``verdict``, ... (points; empty before any effect)."""
        return self._frames["effects"].copy()

    @property
    def runs(self) -> "pd.DataFrame":
        """``runs.csv``: one row per (arm, seed): ``status`` (pending, running, done, diverged, failed),
        ``epochs_done``, ``metric`` (the study's per-run metric, fraction), ``wall_s``, ``error``."""
        return self._frames["runs"].copy()

    @property
    def curves(self) -> "pd.DataFrame":
        """``epochs.csv``: one row per (arm, seed, epoch from 1): train/val loss and accuracy (fractions), ``lr``."""
        return self._frames["epochs"].copy()

    @property
    def class_metrics(self) -> "pd.DataFrame":
        """``class_metrics.csv``: val accuracy (fraction) per (arm, seed, epoch, class)."""
        return self._frames["class_metrics"].copy()

    @property
    def arms(self) -> "pd.DataFrame":
        """``arms.csv``: one summary row per arm, baseline included (metric mean/std, stability, gen gap; points)."""
        return self._frames["arms"].copy()

    @property
    def class_effects(self) -> "pd.DataFrame":
        """``class_effects.csv``: one row per (non-baseline arm, class), columns
        :data:`~augstudy.ablation.storage.schema.CLASS_EFFECT_COLUMNS` (points; empty before two paired seeds).

        Fallback, for a folder exported before the file existed: computed once, here, from
        class_metrics.csv and runs.csv by the function the exporter writes it with
        (:func:`augstudy.ablation.analysis.class_effects.class_effect_rows`), so an old folder reports
        the same per-class effects; ``augstudy ablate`` on the folder writes the file."""
        if self._class_effects is None:
            import pandas as pd

            from augstudy.ablation.analysis.class_effects import class_effect_rows

            runs = self._frames["runs"]
            done = ({(str(a), int(s)) for a, s, st in zip(runs["arm"], runs["seed"], runs["status"])
                     if st == RunStatus.DONE.value} if len(runs) else None)
            rows = class_effect_rows(self._frames["class_metrics"].to_dict("records"), done, self.baseline_arm,
                                     self.arm_names, self.class_names)
            self._class_effects = pd.DataFrame(rows, columns=list(CLASS_EFFECT_COLUMNS))
        return self._class_effects.copy()

    @property
    def seed_summaries(self) -> "pd.DataFrame":
        """One row per done run with epochs (:data:`SEED_SUMMARY_COLUMNS`, points): stability, generalization
        gap, final and best val accuracy, the run's own values whose mean over seeds is arms.csv's
        (:func:`augstudy.ablation.analysis.effects.run_summary`, the same definition); the gap is NaN for an
        arm that mixes (:func:`~augstudy.ablation.storage.schema.gen_gap_na`).  Without runs.csv every run counts."""
        if self._seed_summaries is None:
            import pandas as pd

            from augstudy.ablation.analysis.effects import run_summary

            runs, epochs = self._frames["runs"], self._frames["epochs"]
            status = {(str(a), int(s)): str(st) for a, s, st in zip(runs["arm"], runs["seed"], runs["status"])
                      } if len(runs) else {}
            no_gap = {str(a.get("arm")) for a in self.arm_specs if isinstance(a, dict) and gen_gap_na(a.get("config"))}
            rows = []
            for (arm, seed), run in (epochs.groupby(["arm", "seed"], sort=False) if len(epochs) else ()):
                if status and status.get((str(arm), int(seed))) != RunStatus.DONE.value:
                    continue
                summary = run_summary(run.to_dict("records"))
                if summary is None:
                    continue
                if str(arm) in no_gap:
                    summary["gen_gap"] = float("nan")
                rows.append({"arm": str(arm), "seed": int(seed), **summary, "epochs": int(run["epoch"].max()),
                             "status": status.get((str(arm), int(seed)), "?")})
            self._seed_summaries = pd.DataFrame(rows, columns=list(SEED_SUMMARY_COLUMNS))
        return self._seed_summaries.copy()

    @property
    def verdicts(self) -> "dict[str, Verdict | str]":
        """Arm -> the :class:`~augstudy.ablation.terms.Verdict` the statistics stored in effects.csv (a
        ``StrEnum``: it equals its string; ``''`` for a row an older augstudy wrote without one;
        ``{}`` before any effect)."""
        return {row.arm: row.verdict for row in self._effect_rows}

    @property
    def effect_rows(self) -> list[EffectRow]:
        """effects.csv as typed :class:`~augstudy.ablation.storage.schema.EffectRow` objects, file (rank) order."""
        return list(self._effect_rows)

    def table(self) -> str:
        """The ranked effect table as ``augstudy ablate`` prints it (``effects.md``; "" before any effect)."""
        path = self.paths.effects_md
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    # -- identity -------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """``study.json``: factor, dataset, seeds, budget, metric, arms with their resolved configs, versions."""
        return dict(self._meta)

    @property
    def factor(self) -> str:
        return str(self._meta.get("factor", self.path.name))

    @property
    def dataset(self) -> str:
        return str(self._meta.get("dataset", "?"))

    @property
    def metric(self) -> str:
        return str(self._meta.get("metric", "?"))

    @property
    def seeds(self) -> list[int]:
        if self._meta.get("seeds"):
            return [int(s) for s in self._meta["seeds"]]
        runs = self._frames["runs"]
        return sorted(int(s) for s in runs["seed"].unique()) if len(runs) else []

    @property
    def baseline_arm(self) -> str | None:
        if self._meta.get("baseline_arm"):
            return str(self._meta["baseline_arm"])
        for arm in self.arm_specs:
            if arm.get("is_baseline"):
                return str(arm["arm"])
        return None

    @property
    def arm_specs(self) -> list[dict]:
        """study.json's ``arms`` entries (``arm, factor, level, is_baseline, config, config_hash, policy``)."""
        return list(self._meta.get("arms") or [])

    def arm_spec(self, arm: str) -> dict:
        for spec in self.arm_specs:
            if spec.get("arm") == arm:
                return spec
        return {}

    @property
    def baseline_config_hash(self) -> str | None:
        spec = self.arm_spec(self.baseline_arm) if self.baseline_arm else {}
        return spec.get("config_hash")

    @property
    def arm_names(self) -> list[str]:
        """Every arm, baseline first, then study.json's order, then any extra arms the CSVs mention."""
        names = [str(a["arm"]) for a in self.arm_specs if "arm" in a]
        for key in ("runs", "epochs", "effects", "arms"):
            frame = self._frames[key]
            if "arm" in frame.columns:
                names.extend(str(a) for a in frame["arm"].unique())
        ordered = list(dict.fromkeys(names))
        base = self.baseline_arm
        if base in ordered:
            ordered.remove(base)
            ordered.insert(0, base)
        return ordered

    @property
    def class_names(self) -> list[str]:
        names = self._meta.get("class_names")
        if names:
            return [str(n) for n in names]
        cm = self._frames["class_metrics"]
        if len(cm) and "class_name" in cm.columns:
            pairs = cm[["class_index", "class_name"]].drop_duplicates().sort_values("class_index")
            return [str(n) for n in pairs["class_name"]]
        return []

    @property
    def noise_floor(self) -> dict:
        """study.json's ``noise_floor`` (the statistics' keys), ``{}`` when not computed yet."""
        return dict(self._meta.get("noise_floor") or {})

    # -- progress -------------------------------------------------------------------
    @property
    def expected_runs(self) -> int:
        """Runs the study will have when complete: arms x seeds, or the seeds registered per arm
        (``seeds_of``: ``--seeds auto`` adds seeds per look), or runs.csv rows if study.json lacks both."""
        seeds_of = self._meta.get("seeds_of")
        n = sum(len(v) for v in seeds_of.values()) if isinstance(seeds_of, dict) else \
            len(self.arm_specs) * len(self._meta.get("seeds") or [])
        return n or len(self._frames["runs"])

    def _count(self, statuses) -> int:
        runs = self._frames["runs"]
        return int(runs["status"].isin(statuses).sum()) if len(runs) else 0

    @property
    def finished_runs(self) -> int:
        return self._count(FINISHED_STATUSES)

    @property
    def done_runs(self) -> int:
        return self._count([RunStatus.DONE.value])

    @property
    def complete(self) -> bool:
        """True when study.json says so, or every expected run has finished and effects exist."""
        if "complete" in self._meta:
            return parse_bool(self._meta["complete"])
        return self.expected_runs > 0 and self.finished_runs >= self.expected_runs and EFFECTS_CSV not in self.missing

    @property
    def progress(self) -> str | None:
        """One sentence for an unfinished study, e.g. "3 of 12 runs finished; effects are provisional"; None when complete."""
        if self.complete:
            return None
        parts = [f"{self.finished_runs} of {self.expected_runs} runs finished"]
        if EFFECTS_CSV in self.missing:
            parts.append("no effects computed yet (effects.csv is missing)")
        else:
            parts.append("effects are provisional")
        running = self._count([RunStatus.RUNNING.value])
        if running:
            parts.append(f"{running} running now")
        return "; ".join(parts)

    # -- files ----------------------------------------------------------------------
    @property
    def paths(self) -> StudyPaths:
        return StudyPaths(self.path)

    def preview_path(self, arm: str) -> Path | None:
        """The arm's preview drawn by ``augstudy ablate`` (:meth:`StudyPaths.preview`) if it exists."""
        candidate = self.paths.preview(arm)
        return candidate if candidate.is_file() else None

    # -- actions --------------------------------------------------------------------
    def reload(self) -> "Study":
        """A new handle on the same folder with the files as they are now."""
        return Study(self.path)

    def report(self, out: str | Path | None = None, fmt: str = "both") -> dict[str, Path]:
        """Write the HTML and/or Markdown report (``fmt``: ``"html"``, ``"md"``, ``"both"``); returns
        ``{"html": Path, "md": Path, "files_dir": Path}``.  Default place: ``<study>/report.html|.md``."""
        from augstudy.report import build_report

        return build_report(self.path, out, fmt)

    def __repr__(self) -> str:
        state = "complete" if self.complete else (self.progress or "incomplete")
        return (f"Study({str(self.path)!r}: factor {self.factor}, dataset {self.dataset}, "
                f"{len(self.arm_names)} arms x {len(self.seeds)} seeds, {state})")

    def _repr_html_(self) -> str:
        """Jupyter: the one-line summary and the effect table."""
        import html

        effects = self._frames["effects"]
        return f"<p>{html.escape(repr(self))}</p>" + (effects.to_html(index=False) if len(effects) else "")


def load_study(path: str | Path) -> Study:
    """Open the study folder ``path`` (finished, still running or interrupted) read-only.

    Reads ``study.json`` and the exported CSVs only; never opens ``study.sqlite`` and writes
    nothing.  Raises :class:`~augstudy.errors.UserError` when ``path`` is not a study folder or a
    file of it is damaged; files not written yet are listed in :attr:`Study.missing`, not errors.
    """
    return Study(path)


__all__ = ["Study", "load_study", "SEED_SUMMARY_COLUMNS"]
