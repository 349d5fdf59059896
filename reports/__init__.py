"""collect -> evaluate -> render: SLO verdicts from a run folder, and the report.

Entry points (kept light here so importing the SLO model does not pull in matplotlib):
``reports.slo.load_slo``, ``reports.evaluate.evaluate``, ``reports.render.render``,
``reports.compare.compare``. ``python -m reports`` drives them offline for a run folder.
"""

__all__: list[str] = []
