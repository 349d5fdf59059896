"""Discovery shim: chaoslib imports a distribution's top-level module; the extension itself is tenfold.chaos."""

from tenfold.chaos import discover

__all__ = ["discover"]
