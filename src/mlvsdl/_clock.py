"""When this process started using mlvsdl: the first module the package imports.

The command line counts ``--time-budget`` from here, so that loading the libraries (numpy,
scikit-learn, PyTorch: several seconds on a busy machine) and reading the data are part of the
budget the user set, as they are of the wall time the user measures.
"""

from __future__ import annotations

import time

__all__ = ["STARTED"]

STARTED = time.monotonic()
