"""augstudy: which augmentation or regularizer actually helps my CNN, and by how much.

Library first, CLI thin: every command is a function a notebook can call.
Heavy imports (torch, matplotlib) live inside the modules that need them, so
``augstudy --help`` stays instant.
"""

import os as _os

__version__ = "0.1.0"

# Same seed, same result on the same device: MKL and OpenMP may otherwise shrink their thread
# teams when the machine is busy, which changes float summation order between two runs of the
# same config (seen on a loaded 2-core machine).  Set before torch initializes its BLAS; a
# user's explicit setting wins.
_os.environ.setdefault("MKL_DYNAMIC", "FALSE")
_os.environ.setdefault("OMP_DYNAMIC", "FALSE")
