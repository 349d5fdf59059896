"""Chaos during the load: when each Chaos Toolkit experiment is injected (:mod:`~tenfold.inject.schedule`), running
them at those moments (:mod:`~tenfold.inject.injector`) through ``chaos`` that keeps its rollbacks on Ctrl-C
(:mod:`~tenfold.inject.chaos_once`)."""
