"""What a study design is: :class:`StudyDesign` (its hooks), :class:`DesignFiles` (its file names) and the
ordered :class:`DesignRegistry` that the exporter, the runner's terminal output and the report loop over.

A design answers, for one study:

- **what it trains**: :meth:`StudyDesign.resolve_arms` -- the study's name and arms when this design
  plans the invocation (one-factor: ``augstudy ablate A``; factorial: ``A --by B``), None when it
  only adds analysis to another design's arms (response curve, strength);
- **when it applies**: :meth:`StudyDesign.applies` -- from the study's arms (their factors and levels);
- **its files**: :attr:`StudyDesign.files` -- the names it writes at the top of the study folder
  (the core files every study has are named in :mod:`augstudy.ablation.storage.schema`);
- **how it exports**: :meth:`StudyDesign.export` (at every export of the study:
  :func:`augstudy.ablation.storage.exporter.export_study`) and :meth:`StudyDesign.export_final`
  (once the study is complete, with the dataset and the trained checkpoints:
  :func:`augstudy.ablation.storage.exporter.export_final`); both get an :class:`ExportContext`
  and return a :class:`DesignExport` (files written, the data they hold, Markdown for effects.md);
- **how it reads back**: :meth:`StudyDesign.read` -- the data of its files, for the report;
- **its terminal summary**: :meth:`StudyDesign.summary` -- the text ``augstudy ablate`` prints after
  the effect table;
- **its report section**: :meth:`StudyDesign.report_section` -- built from the read-back data.

Every hook is abstract: a design states each one, even where it has nothing to add.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from augstudy.ablation.storage.schema import CORE_FILE_NAMES, StudyPaths

if TYPE_CHECKING:  # pragma: no cover
    from augstudy.ablation.spec.study_spec import Arm
    from augstudy.report.blocks import Section


class DesignFiles(Mapping):
    """A design's files at the top of a study folder: ``key -> file name`` (the key is the name the
    runner's ``files:`` listing and :attr:`DesignExport.files` use), e.g.
    ``DesignFiles(curve_json="curve.json")``; ``files.curve_json`` is the name."""

    def __init__(self, **names: str):
        self._names = dict(names)

    def __getitem__(self, key: str) -> str:
        return self._names[key]

    def __getattr__(self, key: str) -> str:
        try:
            return self.__dict__["_names"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def path(self, root: str | Path, key: str) -> Path:
        """Where file ``key`` lives in the study folder ``root``."""
        return Path(root) / self._names[key]

    def __repr__(self) -> str:
        return f"DesignFiles({', '.join(f'{k}={v!r}' for k, v in self._names.items())})"


@dataclass
class ExportContext:
    """What one export hands every design: the study folder, its arms, one record per (seed, arm) from
    one read of the store (:func:`augstudy.ablation.storage.exporter.arm_records`: ``arm, seed, status,
    metric`` (fraction), ``epochs`` (the run's epoch rows), ...), the metric name, the registered seeds,
    the SESOI (points) and the chance level (fraction, None without classes).

    ``data``: what the designs before this one (registry order) exported in this process, by design
    name -- a design that builds on another (strength on the response curve) reads it here, never
    from the files just written.  ``dataset`` and ``device`` are set only for
    :meth:`StudyDesign.export_final`.
    """

    paths: StudyPaths
    arms: list["Arm"]
    records: list[dict]
    metric: str
    seeds: list[int]
    sesoi: float | None = None
    chance: float | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dataset: Any = None
    device: Any = None


@dataclass
class DesignExport:
    """What a design's export produced: ``files`` (key -> path written), ``data`` (what they hold, as the
    summary and later designs use it; None: nothing yet), ``markdown`` (a section appended to effects.md)."""

    files: dict[str, Path] = field(default_factory=dict)
    data: Any = None
    markdown: str = ""


class StudyDesign(ABC):
    """One study design: its name, its files and its hooks (see the module docstring).

    ``name``: the key of its data in :attr:`ExportContext.data` and in the report's
    ``Study.designs``; ``files``: :class:`DesignFiles` (empty when it writes none of its own).
    """

    name: str = ""
    files: DesignFiles = DesignFiles()

    @abstractmethod
    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> tuple[str, list["Arm"]] | None:
        """``(study name, arms)`` when this design plans the invocation ``augstudy ablate FACTOR [--by BY]``;
        None when it does not (or only adds analysis to another design's arms)."""

    @abstractmethod
    def applies(self, arms: list["Arm"]) -> bool:
        """True when a study with ``arms`` has this design's analysis (and files)."""

    @abstractmethod
    def export(self, ctx: ExportContext) -> DesignExport:
        """Write this design's files from one export's records (called at every export of the study)."""

    @abstractmethod
    def export_final(self, ctx: ExportContext) -> DesignExport:
        """Write what needs the dataset and the trained models, once the study is complete
        (``ctx.dataset``, ``ctx.device`` set; ``ctx.data`` holds every design's last export)."""

    @abstractmethod
    def read(self, study_dir: Path) -> Any | None:
        """The data of this design's files in ``study_dir`` (what :meth:`report_section` draws), None when
        the folder holds none."""

    @abstractmethod
    def summary(self, data: Any) -> str | None:
        """The text ``augstudy ablate`` prints after the effect table (one ``echo``), or None."""

    @abstractmethod
    def report_section(self, study, data: Any) -> "Section | None":
        """The report's section of this design from :meth:`read`'s ``data`` (``study``: the loaded
        study folder), or None."""


class DesignRegistry:
    """The study designs in order (the order of their summaries and report sections).

    Registering refuses a second design of the same name and a file name that another design, or the
    core files of every study (:data:`augstudy.ablation.storage.schema.CORE_FILE_NAMES`), already claims:
    every name of a study folder has one owner.
    """

    def __init__(self, designs: tuple[StudyDesign, ...] = ()):
        self._designs: dict[str, StudyDesign] = {}
        for design in designs:
            self.register(design)

    def register(self, design: StudyDesign) -> StudyDesign:
        """Add ``design`` at the end; returns it (usable as ``DESIGN = DESIGNS.register(MyDesign())``)."""
        if not isinstance(design, StudyDesign):
            raise TypeError(f"{design!r}: a study design subclasses StudyDesign")
        if not design.name or design.name in self._designs:
            raise ValueError(f"study design {design.name!r}: needs a name no other design has")
        owners = {name: "the core files of every study (augstudy.ablation.storage.schema)"
                  for name in CORE_FILE_NAMES}
        owners.update({name: f"study design {other.name!r}" for other in self._designs.values()
                       for name in other.files.values()})
        names = list(design.files.values())
        for name in names:
            if name in owners or names.count(name) > 1:
                raise ValueError(f"study design {design.name!r}: file {name} is already claimed by "
                                 f"{owners.get(name, 'another of its own keys')}")
        self._designs[design.name] = design
        return design

    def unregister(self, name: str) -> StudyDesign:
        """Remove and return the design ``name`` (tests register a design for a while)."""
        return self._designs.pop(name)

    def __iter__(self) -> Iterator[StudyDesign]:
        return iter(list(self._designs.values()))

    def __len__(self) -> int:
        return len(self._designs)

    def __getitem__(self, name: str) -> StudyDesign:
        return self._designs[name]

    def names(self) -> list[str]:
        return list(self._designs)

    def file_names(self) -> tuple[str, ...]:
        """Every file name the designs write at the top of a study folder (registry order)."""
        return tuple(name for design in self for name in design.files.values())

    def summaries(self, data: dict[str, Any]) -> list[str]:
        """Each design's terminal summary of its ``data[design.name]`` (designs without data: none), in order."""
        texts = [d.summary(data[d.name]) for d in self if data.get(d.name) is not None]
        return [t for t in texts if t is not None]

    def applying(self, arms: list["Arm"]) -> list[StudyDesign]:
        """The designs whose analysis a study with ``arms`` has, in registry order."""
        return [d for d in self if d.applies(arms)]

    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> tuple[str, list["Arm"]]:
        """``(study name, arms)`` from the first design that plans ``augstudy ablate FACTOR [--by BY]``."""
        for design in self:
            planned = design.resolve_arms(factor, by, budget, specs_dir, budget_override)
            if planned is not None:
                return planned
        raise LookupError(f"no study design plans factor {factor!r}" + (f" by {by!r}" if by else ""))


__all__ = ["DesignFiles", "ExportContext", "DesignExport", "StudyDesign", "DesignRegistry"]
