"""The verdict of one effect row: one enum, and the one question asked of it (:meth:`Verdict.is_decided`).

Pure standard library, so the store, the report and the API read verdicts without numpy or scipy;
the statistics (:mod:`augstudy.ablation.analysis.stats.verdicts`) decide them.  A ``StrEnum``:
each member *is* its string, so ``effects.csv``, ``factorial.csv``, ``study.json`` and
comparisons with a string read from a file are unchanged (``Verdict.BETTER == "better"``).
"""

from __future__ import annotations

from enum import StrEnum


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

__all__ = ["Verdict", "WRITTEN"]
