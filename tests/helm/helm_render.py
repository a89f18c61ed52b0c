"""Render charts with real Helm, offline, and read back what it rendered.

helm-sdkpy exposes Helm's ``lint`` (no ``template``; install and dry-run need a cluster). Lint renders
every template with the chart's values.yaml, in Helm's lint mode, where ``fail`` logs its message instead of
aborting. So each render copies the chart, writes the variant's values over values.yaml (merged the way Helm
merges a values file over the defaults), and adds one probe template that ``include``s every template of the
chart (by its registered name, with the chart's own root context) and hands the result to ``fail``: Helm logs
it base64-encoded and we decode it. What comes back is byte for byte what Helm rendered. Other ``fail``
messages (the chart's own guards) are returned too.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "guardd"
APP = ROOT / "helm" / "examples" / "app"
HELM_VENV = ROOT / ".helm-venv"
TOOL = Path(__file__).with_name("helm_tool.py")
PROBE = "zz-render-probe.yaml"
_FAIL = re.compile(r'funcMap fail message=("(?:[^"\\]|\\.)*"|\S*)')
_PROBE = re.compile(r"^PROBE<([A-Za-z0-9+/=]*)>$")


@dataclass
class Rendered:
    """One chart render: documents by kind, the chart's own ``fail`` messages, and lint's verdict."""

    documents: list[dict[str, Any]]
    text: str
    fails: list[str]
    lint: dict[str, Any]
    notes: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    def kinds(self) -> list[str]:
        return sorted(d["kind"] for d in self.documents)

    def one(self, kind: str, name_suffix: str = "") -> dict[str, Any]:
        found = [d for d in self.documents if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
        assert len(found) == 1, f"expected one {kind}*{name_suffix}, got {[d['metadata']['name'] for d in found]}"
        return found[0]

    @property
    def lint_errors(self) -> list[str]:
        return [m["path"] for m in self.lint["messages"] if m["severity"] == "error"]


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of a values file over defaults: maps merge, anything else replaces, null deletes."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def run_tool(command: str, argument: Path) -> subprocess.CompletedProcess[str]:
    python = HELM_VENV / "bin" / "python"
    return subprocess.run([str(python), str(TOOL), command, str(argument)], capture_output=True, text=True, check=True)


def lint(chart: Path) -> tuple[dict[str, Any], list[str]]:
    """Helm lint's messages (JSON) and every ``fail`` message its lint-mode render logged."""
    done = run_tool("lint", chart)
    fails = [json.loads(raw) if raw.startswith('"') else raw for raw in _FAIL.findall(done.stderr)]
    return json.loads(done.stdout), fails


def _probe(chart_name: str, templates: list[str]) -> str:
    names = " ".join(f'"{chart_name}/templates/{t}"' for t in templates)
    return (
        "{{- $docs := list -}}\n"
        f"{{{{- range $t := list {names} -}}}}\n"
        '{{- $docs = append $docs (printf "# Source: %s\\n%s" $t (include $t $)) -}}\n'
        "{{- end -}}\n"
        '{{- fail (printf "PROBE<%s>" (join "\\n---\\n" $docs | b64enc)) -}}\n'
    )


def _render_copy(chart: Path, values: dict[str, Any]) -> Rendered:
    name = yaml.safe_load((chart / "Chart.yaml").read_text())["name"]
    (chart / "values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    templates = sorted(p.name for p in (chart / "templates").iterdir() if p.suffix == ".yaml" or p.name == "NOTES.txt")
    (chart / "templates" / PROBE).write_text(_probe(name, templates))
    result, fails = lint(chart)
    probes = [m for f in fails if (m := _PROBE.match(f))]
    assert len(probes) == 1, f"the render probe did not report: {fails}"
    text = base64.b64decode(probes[0].group(1)).decode()
    sources: dict[str, str] = {}
    for chunk in text.split("\n---\n"):
        header, _, body = chunk.partition("\n")
        sources[header.removeprefix("# Source: ").rsplit("/", 1)[-1]] = body
    notes = sources.pop("NOTES.txt", "")
    documents = [d for body in sources.values() for d in yaml.safe_load_all(body) if d]
    others = [f for f in fails if not _PROBE.match(f)]
    return Rendered(documents, text, others, result, notes, sources)


def render_chart(overrides: dict[str, Any] | None = None, *, replace_values: dict[str, Any] | None = None) -> Rendered:
    """The guardd chart rendered by Helm with ``overrides`` over its values.yaml."""
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    values = replace_values if replace_values is not None else merge(defaults, overrides or {})
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "guardd"
        shutil.copytree(CHART, chart)
        return _render_copy(chart, values)


def render_app(overrides: dict[str, Any] | None = None) -> Rendered:
    """The example application chart, with the guardd chart as its dependency, rendered by Helm."""
    defaults = yaml.safe_load((APP / "values.yaml").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "app"
        shutil.copytree(APP, chart)
        shutil.copytree(CHART, chart / "charts" / "guardd")
        return _render_copy(chart, merge(defaults, overrides or {}))


def validate(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """kubernetes-validate's verdict on each document (strict: unknown fields are errors)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump_all(documents, handle)
    try:
        done = run_tool("validate", Path(handle.name))
    finally:
        Path(handle.name).unlink()
    return [json.loads(line) for line in done.stdout.splitlines()]
