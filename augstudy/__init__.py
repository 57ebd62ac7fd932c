"""augstudy: which augmentation or regularizer actually helps my CNN, and by how much.

Library first, CLI thin: every command is a function a notebook can call.
Heavy imports (torch, matplotlib) live inside the modules that need them, so
``augstudy --help`` stays instant.
"""

__version__ = "0.1.0"
