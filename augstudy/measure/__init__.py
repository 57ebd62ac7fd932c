"""``augstudy measure``: what a policy and each of its ops do to images, and how fast each backend does it.

>>> from augstudy.measure import measure_policy, format_result, write_result
>>> result = measure_policy("light", n=256)          # throughput, pixel stats, no-ops (+ affinity with model_path)
>>> print(format_result(result)); write_result(result, "reports")

Modules: :mod:`.throughput` (img/s per backend, same draw), :mod:`.pixel_stats` (channel stats,
clipping, SSIM, PSNR, no-op share), :mod:`.affinity` (clean-model accuracy ratio),
:mod:`.run` (orchestration), :mod:`.output` (terminal tables, JSON/CSV files).
"""

from augstudy.measure.output import format_result, write_result
from augstudy.measure.run import ALL_BACKENDS, DEFAULT_N, measure_policy

__all__ = ["measure_policy", "format_result", "write_result", "ALL_BACKENDS", "DEFAULT_N"]
