"""Study designs as plugins: one module per design, in the ordered :data:`DESIGNS` registry.

- :mod:`.one_factor` -- ``augstudy ablate FACTOR`` (the default): every level against the baseline;
- :mod:`.factorial` -- ``augstudy ablate A --by B``: the full A x B factorial, its interaction;
- :mod:`.response` -- a one-factor study with numeric levels: the response curve, best level;
- :mod:`.strength` -- one policy at several strengths: affinity, diversity, pixel shift.

Each module holds one :class:`~augstudy.ablation.designs.base.StudyDesign`: what it trains, when it
applies, its file names, how it exports, how it reads back, its terminal summary and its report
section (see :mod:`.base`).  The registry's order is the order of their summaries after the effect
table and of their report sections.  Who loops over it: the exporter
(:func:`augstudy.ablation.storage.exporter.export_study` and ``export_final``), the runner (which
design plans the arms, the summaries), the reader (each design's files) and the report assembler
(each design's section), plus the study-folder checks that need every file name
(:meth:`DesignRegistry.file_names`).

A new design: one new module declaring a ``StudyDesign`` subclass and ``DESIGN = MyDesign()``, and its
line below.  Dependencies go one way: design modules import the storage schema, the specs, the
statistics and the report's building blocks (:mod:`augstudy.report.blocks`, :mod:`augstudy.report.figures`);
the report imports the designs, never the other way round.
"""

from __future__ import annotations

from augstudy.ablation.designs.base import DesignExport, DesignFiles, DesignRegistry, ExportContext, StudyDesign
from augstudy.ablation.designs import factorial, one_factor, response, strength

#: every study design, in order
DESIGNS = DesignRegistry((one_factor.DESIGN, factorial.DESIGN, response.DESIGN, strength.DESIGN))

#: ``register_design(MyDesign())`` adds a design at the end of :data:`DESIGNS` (and returns it)
register_design = DESIGNS.register

__all__ = ["DESIGNS", "register_design", "StudyDesign", "DesignFiles", "DesignExport", "ExportContext",
           "DesignRegistry"]
