"""infra/terraform is in `terraform fmt`'s canonical style.

`terraform fmt` works offline (no `init`, no providers or modules), so this runs wherever a binary is on PATH and
skips, saying so, where none is. Fix a failure with: terraform fmt -recursive infra/terraform
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from _infra import ROOT, TERRAFORM


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("no terraform binary on PATH: `terraform fmt -check` not run (python-hcl2 checks still run)")
    out = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, (
        f"terraform fmt -check exited {out.returncode}; run: terraform fmt -recursive infra/terraform\n"
        f"{out.stdout}{out.stderr}"
    )
