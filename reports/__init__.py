"""collect -> evaluate -> render: SLO verdicts from a run folder, and the report.

Entry points (kept light here so importing the SLO model does not pull in matplotlib):
``reports.slo.load_slo``, ``reports.evaluate.evaluate``, ``reports.render.render``,
``reports.compare.compare``. ``tenfold report``, ``compare`` and ``validate`` drive them from the command line.
"""

__all__: list[str] = []
