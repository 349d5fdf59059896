"""Render the templates in ``infra/local/`` (HAProxy, Redis, Sentinel) into the state dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from tenfold.stack.state import REPO_ROOT

__all__ = ["TEMPLATES", "render"]

TEMPLATES = REPO_ROOT / "infra" / "local"
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
)


def render(template: str, out: Path, **values: Any) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_ENV.get_template(template).render(**values))
    return out
