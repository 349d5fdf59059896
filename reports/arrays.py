"""Array types shared by the run-folder readers (a module of its own so the readers import it, not each other)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["F64"]

F64 = npt.NDArray[np.float64]
"""A column of float64 values (epoch seconds, latencies, rates)."""
