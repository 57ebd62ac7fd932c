"""The effect table's shared terms: the verdict enum and its one question (:meth:`Verdict.is_decided`),
the unit of effects (:data:`POINTS`), the cap on seeds needed and the one rank rule (:func:`assign_ranks`).

Pure standard library, at the bottom of ``augstudy/ablation/``: the statistics
(:mod:`augstudy.ablation.analysis.stats`) decide with these terms, the store and the exporter write
them, the report and the API read them, without numpy or scipy.  A ``StrEnum``:
each member *is* its string, so ``effects.csv``, ``factorial.csv``, ``study.json`` and
comparisons with a string read from a file are unchanged (``Verdict.BETTER == "better"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

#: fraction -> accuracy points (100 x fraction): the unit of effects, arms and class effects
POINTS = 100.0
#: ``seeds_needed`` above this is written ``>N`` (the statistics' search limit; max + 1: "not reachable by then")
SEEDS_NEEDED_MAX = 200


class Verdict(StrEnum):
    """What the statistics say about one arm (or contrast) against the baseline.

    The first five are what the statistics write (:data:`WRITTEN`); the last three are the
    short verdicts an older augstudy wrote, kept so that those study folders still read.
    """

    BETTER = "better"                        # significant, mean above 0
    WORSE = "worse"                          # significant, mean below 0
    EQUIVALENT = "equivalent"                # inside +-SESOI (TOST)
    INCONCLUSIVE = "inconclusive"            # none of the above yet; seeds_needed says what would settle it
    UNSTABLE = "unstable"                    # diverged on >= 1 seed (the statistical call is in ``decision``)
    WITHIN_NOISE = "within noise"            # older folders only
    NEEDS_TWO_SEEDS = "needs >= 2 seeds"     # older folders only
    NO_PAIRED_SEEDS = "no paired seeds"      # older folders only

    def is_decided(self) -> bool:
        """True when the statistics settled the question: better, worse or equivalent.

        Inconclusive and unstable arms are not decided (more seeds, or a stable setting, could
        still settle them), nor are the older folders' short verdicts.
        """
        return self in _DECIDED

    @classmethod
    def parse(cls, text: str) -> "Verdict":
        """``"better"`` -> ``Verdict.BETTER`` (surrounding blanks ignored); ValueError naming the allowed values."""
        try:
            return cls(str(text).strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a verdict (one of {', '.join(cls)})") from None


_DECIDED = frozenset({Verdict.BETTER, Verdict.WORSE, Verdict.EQUIVALENT})

#: the verdicts the statistics write today, in the order the table header explains them
WRITTEN = (Verdict.BETTER, Verdict.WORSE, Verdict.EQUIVALENT, Verdict.INCONCLUSIVE, Verdict.UNSTABLE)

def assign_ranks(effects: Sequence) -> None:
    """Rank in place by the mean effect (desc; ties keep input order); arms without data unranked.

    The one rank rule: every effect table, contrast family and the comparison of studies
    (``augstudy report A B``, on stored :class:`~augstudy.ablation.storage.schema.EffectRow`) use it;
    ``effects``: anything with ``n_seeds``, ``effect_mean`` and a settable ``rank``.

    Why the mean: "which arm is best" is a question about the true effects, and with equal
    noise the largest observed mean is the most likely largest true effect; an arm with a
    larger mean never ranks below one with a smaller mean.  (Ranking by each arm's Holm-level
    lower bound, the rule before, held the most significant arm to the strictest level and put
    the truly best arm first less often; ``benchmarks/bench_effect_grid.py`` measures both.)
    Arms with fewer than 2 seeds (one run: no interval at all) come after every arm with 2 or more.
    """
    ranked = [e for e in effects if e.n_seeds > 0 and math.isfinite(e.effect_mean)]
    ranked.sort(key=lambda e: (e.n_seeds < 2, -e.effect_mean))
    for position, e in enumerate(ranked, start=1):
        e.rank = position


__all__ = ["POINTS", "SEEDS_NEEDED_MAX", "Verdict", "WRITTEN", "assign_ranks"]
