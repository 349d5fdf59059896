"""Files people write (SLO, scenario, experiment, schedule, manifests, overlay): parsed with the line and
column of every key and value, so any mistake becomes one ``ConfigError`` naming ``file:line:column``.

YAML nodes carry marks; JSON is composed by the YAML parser too (JSON is YAML) for the marks, after
``json.loads`` has accepted it. Every loader of a user file goes through here, not a copy of it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tenfold.errors import ConfigError

__all__ = ["Loc", "Located", "dotted", "load_json", "load_yaml", "load_yaml_all", "parse_json", "parse_yaml"]

Loc = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line and column


def dotted(loc: Loc) -> str:
    """``("objectives", 0, "target")`` → ``objectives[0].target``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _marks(node: yaml.Node, loc: Loc, out: dict[Loc, Mark]) -> None:
    out[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark.line)
            _marks(value, (*loc, k), out)
            # a key's own line: where "unknown key" and "bad value" both point a reader
            out[(*loc, k)] = (key.start_mark.line + 1, key.start_mark.column + 1)
            out[(*loc, k, "<value>")] = (value.start_mark.line + 1, value.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _marks(item, (*loc, i), out)


@dataclass(frozen=True)
class Located:
    """Parsed data plus where each key path sits in ``source``."""

    data: Any
    source: str
    marks: dict[Loc, Mark] = field(default_factory=dict)

    def mark(self, loc: Loc, *, key: bool = False) -> Mark | None:
        """Where ``loc``'s value starts (``key``: its key), or its nearest ancestor (a missing key: its parent)."""
        if not key and (*loc, "<value>") in self.marks:
            return self.marks[(*loc, "<value>")]
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.marks:
                return self.marks[loc[:n]]
        return None

    def error(self, loc: Loc, message: str, *, prefix: bool = True, key: bool = False) -> ConfigError:
        """``file:line:col: key.path: message`` at the value (``key``: at the key; ``prefix=False``: no key path)."""
        m = self.mark(loc, key=key)
        text = f"{dotted(loc)}: {message}" if prefix and loc else message
        return ConfigError(text, path=self.source, line=m[0] if m else None, column=m[1] if m else None)

    def at(self, loc: Loc) -> Located:
        """The part of the file under ``loc`` (for validating one section)."""
        data: Any = self.data
        for part in loc:
            data = data[part]
        marks = {k[len(loc) :]: v for k, v in self.marks.items() if k[: len(loc)] == loc}
        return Located(data, self.source, marks)

    def invalid(
        self, exc: ValidationError, hint: Callable[[ErrorDetails], str | None] | None = None, prefix: Loc = ()
    ) -> ConfigError:
        """pydantic's first error at its line (``prefix``: where the validated part sits in the file); ``hint`` may
        replace pydantic's words with the fix."""
        errors = exc.errors(include_url=False)
        # A misspelt key shows up twice, as unknown and as missing: the unknown one is what to fix.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = prefix + _clean(err["loc"])
        msg = (hint(err) if hint else None) or _message(err, loc)
        if err["type"] == "extra_forbidden":
            missing = [str(_clean(e["loc"])[-1]) for e in errors if e["type"] == "missing" and
                       _clean(e["loc"])[:-1] == _clean(err["loc"])[:-1]]  # fmt: skip
            close = difflib.get_close_matches(str(loc[-1]), missing, n=1)
            msg += f"; did you mean {close[0]!r}?" if close else ""
        more = f" (and {exc.error_count() - 1} more error(s))" if exc.error_count() > 1 else ""
        return self.error(loc, msg + more, key=err["type"] == "extra_forbidden")


def _clean(loc: tuple[int | str, ...]) -> Loc:
    """pydantic's location without its validator steps (``function-after[...]``, ``literal[...]``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "literal["))))


def _message(err: ErrorDetails, loc: Loc) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"unknown key {loc[-1]!r}: check the spelling (see the file's reference in docs/)"
    if err["type"] == "missing":
        return f"{msg}: add '{loc[-1]}:'"
    given = err.get("input")
    if err["type"] not in ("model_type", "dict_type", "value_error") and isinstance(given, str | int | float | bool):
        return f"{msg} (got {given!r})"
    return msg


def _read(path: str | Path, what: str) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigError(f"cannot read the {what} file: there is no such file; check the path", path=str(p)) from None
    except IsADirectoryError:
        raise ConfigError(f"cannot read the {what} file: this is a directory; name a file", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what} file: {exc}", path=str(p)) from None


def _yaml_error(exc: yaml.MarkedYAMLError, source: str) -> ConfigError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or str(exc).splitlines()[0]
    hint = "; indent with spaces, not tabs" if "'\\t'" in problem else "; check indentation, quotes and brackets"
    return ConfigError(f"not valid YAML: {problem}{hint}", path=source, line=mark.line + 1 if mark else None,
                       column=mark.column + 1 if mark else None)  # fmt: skip


def parse_yaml(text: str, source: str) -> Located:
    """One YAML document; an empty file is ``None`` data."""
    docs = _compose(text, source, single=True)
    return docs[0] if docs else Located(None, source)


def load_yaml(path: str | Path, what: str) -> Located:
    """Read and parse a YAML file (missing: a usage error naming it; broken: a ConfigError at the line)."""
    return parse_yaml(_read(path, what), str(path))


def load_yaml_all(path: str | Path, what: str) -> list[Located]:
    """Every document of a multi-document YAML file (Kubernetes manifests)."""
    return _compose(_read(path, what), str(path), single=False)


def _compose(text: str, source: str, *, single: bool) -> list[Located]:
    loader = yaml.SafeLoader(text)
    out = []
    try:
        if single:
            node = loader.get_single_node()
            nodes = [node] if node is not None else []
        else:
            nodes = []
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    nodes.append(node)
        for node in nodes:
            marks: dict[Loc, Mark] = {}
            _marks(node, (), marks)
            out.append(Located(loader.construct_document(node), source, marks))
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=source) from None
    finally:
        loader.dispose()
    return out


def parse_json(text: str, source: str) -> Located:
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"not valid JSON: {exc.msg}; check commas, quotes and brackets", path=source,
                          line=exc.lineno, column=exc.colno) from None  # fmt: skip
    try:
        marks = _compose(text, source, single=True)[0].marks if text.strip() else {}
    except ConfigError:  # valid JSON that YAML reads differently (rare): errors name the file only
        marks = {}
    return Located(data, source, marks)


def load_json(path: str | Path, what: str) -> Located:
    return parse_json(_read(path, what), str(path))
