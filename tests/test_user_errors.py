"""Every file and flag a user gives fails with one clear message: file, line and column, the fix, the documented
exit code, no traceback. The same cases make docs/bad-input.md's table (``test_readme_table_is_current``).

Each case runs ``tenfold`` in-process from a scratch directory holding its files (so messages show the short
names a user would type); nothing may start a stack or a load. The service settings case runs a replica process.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tenfold import cli
from tenfold.errors import ConfigError
from tenfold.stack import lifecycle

ROOT = Path(__file__).resolve().parents[1]

SLO = """\
objectives:
  - name: peak-p99
    indicator: {indicator}
    percentile: 99
    window: peak
    target: "{target}"
"""
SCENARIO = """\
spike:
  locustfile: lf.py
  profiles:
    default:
      baseline_rate: -5
      phases: {baseline: 10, ramp: 0, peak: 0, cooldown: 0}
"""
EXPERIMENT = """\
{
  "title": "kill a replica",
  "description": "x",
  "method": [{"type": "action", "name": "kill", "provider": {"type": "python", "module": "os", "func": "getpid"}}],
  "extensions": [{"name": "tenfold", "schedule": {"phase": "peek", "offset_s": 3}}]
}
"""
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: catalog}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: catalog
          resources:
            limits: {cpu: lots}
"""
HPA = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: catalog}
spec:
  template:
    spec:
      containers: [{name: catalog}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: catalog}
spec:
  minReplicas: 2
"""
NO_STACK = ["--target", "http://127.0.0.1:9", "--experiments", "none"]  # and _run_with is stubbed: no load either


@dataclass(frozen=True)
class Case:
    input: str  # the README's first column
    wrong: str
    argv: list[str]
    message: str  # must appear in the output (whitespace normalised)
    code: int
    files: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("SLO file", "unknown indicator", ["run", "--slo", "slo.yaml", *NO_STACK],
         "slo.yaml:3:16: objectives[0].indicator: unknown indicator 'latncy': use one of latency,", 65,
         {"slo.yaml": SLO.format(indicator="latncy", target="<= 500ms")}),
    Case("SLO file", "target that is not a comparison", ["validate", "slo.yaml"],
         "slo.yaml:6:13: objectives[0].target: cannot read target '<= fast': write a comparison and a number", 65,
         {"slo.yaml": SLO.format(indicator="latency", target="<= fast")}),
    Case("SLO file", "misspelt key", ["run", "--slo", "slo.yaml", *NO_STACK],
         "slo.yaml:5:5: objectives[0].windw: unknown key 'windw' (check the spelling; see docs/reports.md for the "
         "keys); did you mean 'window'?", 65,
         {"slo.yaml": SLO.format(indicator="latency", target="<= 1s").replace("window", "windw")}),
    Case("SLO file", "a tab in the indentation", ["run", "--slo", "slo.yaml", *NO_STACK],
         "slo.yaml:3:1: not valid YAML: found character '\\t' that cannot start any token; indent with spaces", 65,
         {"slo.yaml": "objectives:\n  - name: a\n\tindicator: latency\n"}),
    Case("SLO file", "no such file", ["run", "--slo", "nope.yaml", *NO_STACK],
         "nope.yaml: cannot read the SLO file: there is no such file; check the path", 65),
    Case("SLO file", "`tenfold report --slo` with a bad target", ["report", "run", "--slo", "slo.yaml"],
         "slo.yaml:6:13: objectives[0].target: cannot read target '<= soon'", 65,
         {"slo.yaml": SLO.format(indicator="latency", target="<= soon"), "run/manifest.json": "{}"}),
    Case("scenario file", "a rate below zero", ["run", "--scenario-file", "scenarios.yaml", *NO_STACK],
         "scenarios.yaml:5:22: spike.profiles.default.baseline_rate: Input should be greater than 0 (got -5)", 65,
         {"scenarios.yaml": SCENARIO}),
    Case("scenario file", "a missing key", ["run", "--scenario-file", "scenarios.yaml", *NO_STACK],
         "scenarios.yaml:1:1: spike.profiles: Field required: add 'profiles:'", 65,
         {"scenarios.yaml": "spike:\n  locustfile: lf.py\n"}),
    Case("scenario file", "an unclosed bracket", ["run", "--scenario-file", "scenarios.yaml", *NO_STACK],
         "scenarios.yaml:3:1: not valid YAML: expected the node content, but found '<stream end>'; check", 65,
         {"scenarios.yaml": "spike:\n  profiles: [\n"}),
    Case("`--scenario`", "no such scenario", ["run", "--scenario", "nope", *NO_STACK],
         "no scenario named 'nope'; --scenario takes one of: spike", 64),
    Case("`--locustfile`", "no such file", ["run", "--locustfile", "gone.py", *NO_STACK],
         "locustfile gone.py: there is no such file", 64),
    Case("scenario file", "no locustfile, none given", ["run", "--scenario-file", "s.yaml", *NO_STACK],
         "no locustfile: give --locustfile FILE, or name one in s.yaml (locustfile: under scenario 'spike')", 64,
         {"s.yaml": "spike:\n  profiles: {default: {baseline_rate: 1, phases: {baseline: 5}}}\n"}),
    Case("`--experiments`", "a schedule that is not PHASE+OFFSET", ["run", "--experiments", "x.json@peak-5s",
         "--target", "http://127.0.0.1:9"], "--experiments 'x.json@peak-5s': after '@' write PHASE or PHASE+", 64),
    Case("`--watch`", "without --prometheus", ["run", "--watch", "deployment/web", "--target", "http://127.0.0.1:9"],
         "--watch names deployments to judge from --prometheus; give --prometheus URL too", 64),
    Case("`--watch`", "not deployment/NAME", ["run", "--watch", "web", "--target", "http://127.0.0.1:9"],
         "--watch 'web': write deployment/NAME", 64),
    Case("SLO file", "a watch entry that is not deployment/NAME", ["validate", "slo.yaml"],
         "slo.yaml:1:18: metrics.watch: watch entries look like deployment/NAME (a Kubernetes name), not", 65,
         {"slo.yaml": "metrics: {watch: [web]}\n" + SLO.format(indicator="latency", target="<= 1s")}),
    Case("`--profile`", "no such profile", ["run", "--profile", "nope", *NO_STACK],
         "scenario 'spike' has no profile 'nope'; --profile takes one of: default, quick,", 64),
    Case("experiment", "broken JSON", ["run", "--experiments", "exp.json", "--target", "http://127.0.0.1:9"],
         "exp.json:5:3: not valid JSON: Expecting ',' delimiter; check commas, quotes and brackets", 65,
         {"exp.json": '{\n  "title": "x",\n  "method": [\n  ]\n  "oops": 1\n}\n'}),
    Case("experiment", "an unknown phase in its schedule", ["run", "--experiments", "exp.json", "--target",
         "http://127.0.0.1:9"], "exp.json:5:60: extensions[0].schedule.phase: phase 'peek' is not one of baseline,", 65,
         {"exp.json": EXPERIMENT}),
    Case("experiment", "not a Chaos Toolkit experiment", ["validate", "exp.json"],
         "exp.json:1:1: not a Chaos Toolkit experiment: it has no 'method' list", 65, {"exp.json": '{"title": "x"}\n'}),
    Case("experiment", "no such file", ["run", "--experiments", "gone.json", "--target", "http://127.0.0.1:9"],
         "gone.json: cannot read the experiment file: there is no such file; check the path", 65),
    Case("experiment", "a directory without experiments", ["run", "--experiments", "exps", "--target",
         "http://127.0.0.1:9"], "exps: no experiment files (*.json) in this directory; name files or another directory",
         65, {"exps/notes.txt": "not an experiment\n"}),
    Case("`--prometheus`", "without --target",
         ["run", "--prometheus", "http://127.0.0.1:9090", "--experiments", "none"],
         "--prometheus is for --target runs; the local stack brings its own Prometheus", 64),
    Case("schedule.yaml", "an experiment that does not exist", ["validate", "schedule.yaml"],
         "schedule.yaml:2:18: quick[0].experiment: no experiment file kill-everything.json next to schedule.yaml", 65,
         {"schedule.yaml": "quick:\n  - {experiment: kill-everything, phase: peak, offset_s: 5}\n"}),
    Case("k8s manifest", "a CPU limit that is not a quantity", ["validate", "catalog.yaml"],
         "catalog.yaml:11:27: spec.template.spec.containers[0].resources.limits.cpu: 'lots' is not a valid CPU", 65,
         {"catalog.yaml": MANIFEST}),
    Case("k8s manifest", "an HPA without maxReplicas", ["validate", "catalog.yaml"],
         "catalog.yaml:13:3: spec: missing 'maxReplicas:' (see infra/k8s/services/ for a complete manifest)", 65,
         {"catalog.yaml": HPA}),
    Case("local overlay", "a number that is a word", ["validate", "autoscaling.yaml"],
         "autoscaling.yaml:2:22: hpa.syncPeriodSeconds: 'fast' is not a valid number", 65,
         {"autoscaling.yaml": "hpa:\n  syncPeriodSeconds: fast\n"}),
    Case("local calibration", "a misspelt field", ["validate", "calibration.yaml"],
         "calibration.yaml:3:5: services.catalog.cpuLimt: unknown field 'cpuLimt': use cpuLimit, cpuRequest,", 65,
         {"calibration.yaml": "services:\n  catalog:\n    cpuLimt: 50m\n"}),
    Case("`--port-base`", "not a number", ["up", "--home", "home", "--port-base", "abc"],
         "argument --port-base: invalid int value: 'abc'", 64),
    Case("`--port-base`", "a privileged port", ["up", "--home", "home", "--port-base", "80"],
         "the port base must be between 1024 and 65235, got 80", 64),
    Case("`TENFOLD_PORT_BASE`", "not a number", ["up", "--home", "home"],
         "TENFOLD_PORT_BASE='abc' is not a port number", 64, env={"TENFOLD_PORT_BASE": "abc"}),
    Case("`--workers`", "zero", ["run", "--workers", "0", *NO_STACK],
         "--workers 0: give at least 1 generator process", 64),
    Case("`--remote-workers`", "with `--workers 2`", ["run", "--remote-workers", "2", "--workers", "2", *NO_STACK],
         "--workers and --remote-workers together: Locust's master cannot also fork local workers; start the local "
         "ones with `tenfold worker --master HOST:PORT` too", 64),
    Case("`--master-bind`", "no port number", ["run", "--remote-workers", "2", "--master-bind", "10.0.0.5:http",
                                               *NO_STACK],
         "'10.0.0.5:http': give the master's address as HOST:PORT, e.g. 10.0.0.5:5557", 64),
    Case("`tenfold worker`", "a locustfile that is not there", ["worker", "--master", "10.0.0.5",
                                                                "--locustfile", "lf.py"],
         "locustfile lf.py: there is no such file (give --locustfile FILE)", 64),
    Case("`--disable`", "an unknown control", ["run", "--disable", "chaos"],
         "argument --disable: invalid choice: 'chaos' (choose from 'autoscaling', 'fallbacks')", 64),
    Case("`--target`", "not loopback, no `--allow-remote`", ["run", "--target", "http://10.1.2.3:8080"],
         "--target http://10.1.2.3:8080 is not a loopback address; add --allow-remote if you mean to load", 64),
    Case("`--target`", "not an http(s) URL", ["run", "--target", "ftp://host"],
         "--target must be an http(s) URL like http://127.0.0.1:8080, not 'ftp://host'", 64),
    Case("`--soak`", "not a duration", ["run", "--soak", "ten"],
         "--soak 'ten' is not a duration: write e.g. 30m, 90s, 1h30m (or seconds)", 64),
    Case("`tenfold report`", "a folder that is not a run", ["report", "."],
         ". is not a run folder (no manifest.json or requests.parquet)", 64),
    Case("`tenfold compare`", "a run that does not exist", ["compare", "runs/a", "runs/b"],
         "runs/a is not a run folder with requests.parquet", 64),
    Case("`tenfold validate`", "no such file", ["validate", "slo-typo.yaml"],
         "slo-typo.yaml: cannot read the YAML file: there is no such file; check the path", 65),
    Case("`tenfold`", "an unknown command", ["frobnicate"], "invalid choice: 'frobnicate' (choose from", 64),
    Case("service settings", "`TENFOLD_PORT=abc python -m reference_services catalog`", [],
         "catalog: bad setting TENFOLD_PORT='abc': Input should be a valid integer", 78, env={"TENFOLD_PORT": "abc"}),
]  # fmt: skip


def _squash(text: str) -> str:
    return " ".join(text.split())


def _tenfold(case: Case, tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    def no_stack(*args: object, **kwargs: object) -> None:
        raise AssertionError("this bad input got as far as starting something")

    import tenfold.run

    monkeypatch.setattr(tenfold.run, "_run_with", no_stack)
    monkeypatch.setattr(tenfold.run, "ensure_stack", no_stack)
    monkeypatch.setattr(lifecycle, "check_free", no_stack)
    from tenfold import output

    for console in (cli._err, output.err, output.out):
        monkeypatch.setattr(console, "width", 400)  # one line per message, as in a wide terminal
    code = cli.main(case.argv)
    out = capsys.readouterr()
    assert code == case.code, out.out + out.err
    return out.out + out.err


@pytest.mark.parametrize("case", CASES, ids=[f"{c.input}: {c.wrong}" for c in CASES])
def test_bad_input_gets_one_clear_message(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in case.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    if case.argv:
        output = _tenfold(case, tmp_path, monkeypatch, capsys)
    else:
        env = {**os.environ, **case.env, "PYTHONPATH": str(ROOT)}
        r = subprocess.run([sys.executable, "-m", "reference_services", "catalog"], env=env, capture_output=True,
                           text=True, timeout=60)  # fmt: skip
        assert r.returncode == case.code, r.stderr
        output = r.stdout + r.stderr
    assert case.message in _squash(output), output
    assert "Traceback" not in output
    if case.code == ConfigError.exit_code and case.message.split(":")[1].strip().isdigit():
        assert re.match(r"^[\w./-]+:\d+:\d+: ", case.message)  # file:line:column as editors jump to it


def test_bad_manifest_stops_tenfold_up_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "catalog.yaml").write_text(MANIFEST)
    with pytest.raises(ConfigError, match=r"catalog\.yaml:11:27: .*'lots' is not a valid CPU quantity"):
        lifecycle.up(tmp_path / "home", manifests=tmp_path / "services")
    assert not (tmp_path / "home" / "state.json").exists()


def readme_table() -> str:
    rows = ["| input | what is wrong | what tenfold says (excerpt) | exit |", "|---|---|---|---|"]
    for c in CASES:
        command = " ".join(c.argv).replace(" " + " ".join(NO_STACK), "").replace(f" {NO_STACK[0]} {NO_STACK[1]}", "")
        wrong = f"{c.wrong} (`tenfold {command}`)" if command else c.wrong
        rows.append(f"| {c.input} | {wrong} | `{c.message.replace('|', '/')}` | {c.code} |")
    return "\n".join(rows) + "\n"


def test_readme_table_is_current() -> None:
    """docs/bad-input.md's table is these cases; TENFOLD_UPDATE_README=1 rewrites it."""
    readme = ROOT / "docs" / "bad-input.md"
    text = readme.read_text()
    begin, end = "<!-- bad-input-table: generated by tests/test_user_errors.py -->\n", "<!-- /bad-input-table -->"
    assert begin in text and end in text, "docs/bad-input.md needs the bad-input-table markers"
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    if os.environ.get("TENFOLD_UPDATE_README") == "1":
        readme.write_text(head + begin + readme_table() + end + tail)
    assert rest.split(end)[0] == readme_table() or os.environ.get("TENFOLD_UPDATE_README") == "1"
