"""One source of truth for alerts: the chart's PrometheusRule is `guardd rules` of the policy the chart deploys."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from chart_sync import DEFAULT_POLICY, drift, guardd_rules, values_policy_files
from helm_render import ROOT, render_chart

ON = {"monitoring": {"prometheusRule": {"enabled": True}}}
SLOS_EXAMPLE = {"slos.yaml": (ROOT / "policies/examples/slos.yaml").read_text()}


def _cli_groups(files: dict[str, str]) -> list[dict[str, object]]:
    document = yaml.safe_load(guardd_rules(files, "--format", "prometheusrule"))
    groups: list[dict[str, object]] = document["spec"]["groups"]
    return groups


def test_the_chart_is_in_sync_with_the_default_policy_and_guardd_rules():
    assert values_policy_files() == {"default.yaml": DEFAULT_POLICY.read_text()}
    assert drift() == []


def test_the_rendered_prometheus_rule_equals_guardd_rules_of_the_deployed_policy():
    rendered = render_chart(ON)
    assert rendered.fails == []
    rule = rendered.one("PrometheusRule")
    assert rule["metadata"]["name"] == "test-release-guardd-slos"
    groups = rule["spec"]["groups"]
    assert groups == _cli_groups(values_policy_files())
    # Every SLO of the policy has its three Sloth groups.
    slos = yaml.safe_load(values_policy_files()["default.yaml"])["slos"]
    assert len(groups) == 3 * len(slos) > 0


@pytest.mark.parametrize("fmt", ["rules", "prometheusrule"])
def test_your_own_policy_takes_guardd_rules_output_verbatim(fmt):
    rules = guardd_rules(SLOS_EXAMPLE, "--format", fmt)
    rendered = render_chart(
        {"policy": {"files": SLOS_EXAMPLE}, "monitoring": {"prometheusRule": {"enabled": True, "rules": rules}}}
    )
    assert rendered.fails == []
    assert rendered.one("PrometheusRule")["spec"]["groups"] == _cli_groups(SLOS_EXAMPLE)
    assert rendered.one("PrometheusRule")["spec"]["groups"] != _cli_groups(values_policy_files())


def test_a_changed_policy_without_its_rules_is_refused():
    # Helm's lint mode logs `fail` and goes on; `helm install` stops on it.
    rendered = render_chart({"policy": {"files": SLOS_EXAMPLE}} | ON)
    (message,) = set(rendered.fails)  # logged once by lint's own render and once by the probe's
    assert "policy.files is not the policy files/prometheus-rules.yaml was generated from" in message
    existing = render_chart({"policy": {"existingConfigMap": "team-policy"}} | ON)
    assert any("policy.existingConfigMap" in f for f in existing.fails)
    # Without a PrometheusRule, nothing to refuse.
    assert render_chart({"policy": {"files": SLOS_EXAMPLE}}).fails == []


def test_promtool_accepts_the_rendered_rules(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("PROMTOOL NOT FOUND: `make system-deps` installs it")
    groups = render_chart(ON).one("PrometheusRule")["spec"]["groups"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
