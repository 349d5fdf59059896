"""The verification subcommands: ``run``, ``worker``, ``init`` (:mod:`tenfold.commands.run`), ``report``, ``compare``
(:mod:`tenfold.commands.results`) and ``validate`` (:mod:`tenfold.commands.validate`); the stack's are in cli.py."""

from __future__ import annotations

import argparse

from tenfold.commands import results, run, validate

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Each group adds its parsers, in the order ``tenfold --help`` lists them."""
    run.register(sub)
    results.register(sub)
    validate.register(sub)
