"""``Study``: a read-only handle on a study folder, and ``load_study`` to open one.

A study folder (written by ``augstudy ablate`` or :func:`augstudy.ablate`) holds ``study.sqlite``
(the writer's store) and the plain files exported from it (names in
:class:`augstudy.ablation.storage.schema.StudyPaths`).  A :class:`Study` reads only the plain files, through
the report's loader (:func:`augstudy.report.load.load_study`): it never opens ``study.sqlite``,
never loads the dataset and writes nothing (except :meth:`Study.report`, when asked).  Every
column of a file is kept, so columns added to the folder's contract show up without changes here.

Units: ``effects`` in accuracy points (100 x fraction difference vs the baseline arm);
accuracies in ``runs``, ``curves`` and ``class_metrics`` are fractions in [0, 1]; ``wall_s`` in seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from augstudy.ablation.storage.schema import EffectRow


class Study:
    """A finished, running or interrupted study, read from its folder's exported files.

    The files are read once when the handle is made; :meth:`reload` reads them again (a study
    another process is still training keeps changing).
    """

    def __init__(self, path: str | Path):
        from augstudy.report.load import load_study as read_folder

        self.path = Path(path)
        self._data = read_folder(self.path)

    # -- tables ---------------------------------------------------------------------
    @property
    def effects(self) -> "pd.DataFrame":
        """``effects.csv``: one row per non-baseline arm in rank order (1 = best): ``effect_mean``,
        ``ci_low``/``ci_high`` (95% interval), ``p_value``, ``verdict``, ... (points; empty before any effect)."""
        return self._data.effects.copy()

    @property
    def runs(self) -> "pd.DataFrame":
        """``runs.csv``: one row per (arm, seed): ``status`` (pending, running, done, diverged, failed),
        ``epochs_done``, ``metric`` (the study's per-run metric, fraction), ``wall_s``, ``error``."""
        return self._data.runs.copy()

    @property
    def curves(self) -> "pd.DataFrame":
        """``epochs.csv``: one row per (arm, seed, epoch from 1): train/val loss and accuracy (fractions), ``lr``."""
        return self._data.epochs.copy()

    @property
    def class_metrics(self) -> "pd.DataFrame":
        """``class_metrics.csv``: val accuracy (fraction) per (arm, seed, epoch, class)."""
        return self._data.class_metrics.copy()

    @property
    def arms(self) -> "pd.DataFrame":
        """``arms.csv``: one summary row per arm, baseline included (metric mean/std, stability, gen gap)."""
        return self._data.arms.copy()

    @property
    def verdicts(self) -> dict[str, str]:
        """Arm -> the verdict the statistics stored in effects.csv (``{}`` before any effect)."""
        frame = self._data.effects
        if "verdict" not in frame.columns:
            return {}
        return {str(arm): ("" if verdict != verdict else str(verdict))   # NaN (blank cell) -> ""
                for arm, verdict in zip(frame["arm"], frame["verdict"])}

    @property
    def effect_rows(self) -> list["EffectRow"]:
        """effects.csv as typed :class:`~augstudy.ablation.storage.schema.EffectRow` objects, rank order."""
        return list(self._data.effect_rows)

    def table(self) -> str:
        """The ranked effect table as ``augstudy ablate`` prints it (``effects.md``; "" before any effect)."""
        path = self._data.paths.effects_md
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    # -- identity and progress ------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """``study.json``: factor, dataset, seeds, budget, metric, arms with their resolved configs, versions."""
        return dict(self._data.meta)

    @property
    def factor(self) -> str:
        return self._data.factor

    @property
    def dataset(self) -> str:
        return self._data.dataset

    @property
    def metric(self) -> str:
        return self._data.metric

    @property
    def seeds(self) -> list[int]:
        return self._data.seeds

    @property
    def baseline_arm(self) -> str | None:
        return self._data.baseline_arm

    @property
    def arm_names(self) -> list[str]:
        """Every arm, baseline first."""
        return self._data.arm_names

    @property
    def complete(self) -> bool:
        """True when every run of the study finished and the effects are final."""
        return bool(self._data.is_complete)

    @property
    def progress(self) -> str | None:
        """One sentence for an unfinished study ("1 of 4 runs finished; ..."); None when complete."""
        return self._data.progress_notice()

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

        head = f"<p>{html.escape(repr(self))}</p>"
        return head + (self._data.effects.to_html(index=False) if len(self._data.effects) else "")


def load_study(path: str | Path) -> Study:
    """Open the study folder ``path`` (finished, still running or interrupted) read-only.

    Reads ``study.json`` and the exported CSVs only; never opens ``study.sqlite`` and writes
    nothing.  Raises :class:`~augstudy.errors.UserError` when ``path`` is not a study folder.
    """
    return Study(path)


__all__ = ["Study", "load_study"]
