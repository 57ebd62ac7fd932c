"""``augstudy data check``: a dataset sanity report that names every file involved.

::

    from augstudy.data.check import check_dataset, format_report
    report = check_dataset("data/tiny-imagenet-200")
    print(format_report(report)); report.exit_code      # 0 clean / warnings only, 1 errors

Modules: :mod:`.run` (orchestration), :mod:`.layout` (tree layouts: wnids, annotations, classes),
:mod:`.arrays` (IDX and CIFAR arrays), :mod:`.features` (parallel decode into digests, thumbnails,
histograms), :mod:`.pixels` (duplicates, leakage, near-duplicates, balance, mean/std),
:mod:`.findings` (the :class:`CheckFinding` record), :mod:`.result` (:class:`CheckReport` and its table).
"""

from augstudy.data.check.findings import SEVERITIES, CheckFinding
from augstudy.data.check.result import CheckReport, format_report
from augstudy.data.check.run import DEFAULT_NEAR_THRESHOLD, EXPECTED_SIZE, check_dataset

__all__ = ["check_dataset", "format_report", "CheckReport", "CheckFinding", "SEVERITIES",
           "DEFAULT_NEAR_THRESHOLD", "EXPECTED_SIZE"]
