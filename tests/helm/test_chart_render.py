"""The guardd chart and the example app chart, linted and rendered by real Helm, validated against Kubernetes."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import yaml
from helm_render import APP, CHART, Rendered, lint, merge, render_app, render_chart, validate

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = yaml.safe_load((CHART / "values.yaml").read_text())
RELEASE = "test-release"  # what Helm's lint names the release
MONITORING_ON = {"monitoring": {"podMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}}}


def _assert_valid(rendered: Rendered) -> None:
    assert rendered.lint_errors == [], rendered.lint
    assert rendered.fails == []
    verdicts = validate(rendered.documents)
    assert len(verdicts) == len(rendered.documents)
    builtin = [v for v in verdicts if not v["resource"].startswith(("PodMonitor/", "PrometheusRule/"))]
    assert all(v["ok"] is True for v in builtin), builtin


def _pod(rendered: Rendered) -> dict[str, Any]:
    spec: dict[str, Any] = rendered.one("Deployment")["spec"]["template"]["spec"]
    return spec


def _guardd(containers: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [c for c in containers if c["name"] == "guardd"]
    return found


def test_the_chart_and_the_example_lint_clean_with_real_helm(tmp_path):
    result, fails = lint(CHART)
    assert result == {"messages": [], "errors": 0}
    assert fails == []
    app = render_app()
    assert app.lint == {"messages": [{"severity": "info", "path": "Chart.yaml"}], "errors": 0}  # icon is optional


def test_defaults_render_the_policy_and_the_dashboard_only():
    rendered = render_chart()
    _assert_valid(rendered)
    # No Prometheus Operator in lint's capabilities, and `auto` honours that.
    assert rendered.kinds() == ["ConfigMap", "ConfigMap"]
    policy = rendered.one("ConfigMap", "-policy")
    assert policy["metadata"]["name"] == f"{RELEASE}-guardd-policy"
    assert policy["data"] == DEFAULTS["policy"]["files"]
    assert "Breakers: in memory" in rendered.notes
    assert "no PodMonitor" in rendered.notes


def test_the_native_sidecar_is_an_init_container_that_always_restarts():
    rendered = render_app()
    _assert_valid(rendered)
    pod = _pod(rendered)
    assert [c["name"] for c in pod["containers"]] == ["app"]
    guardd = _guardd(pod["initContainers"])
    assert guardd["restartPolicy"] == "Always"
    assert guardd["args"][:3] == ["serve", "--policy=/etc/guardd/policy", "--host=0.0.0.0"]
    for kind, service in [("startup", "guardd.v1.Guard"), ("readiness", "guardd.v1.Guard"), ("liveness", "")]:
        assert guardd[f"{kind}Probe"]["grpc"] == {"port": 50051, "service": service}
    assert guardd["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsGroup": 10001,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert guardd["resources"]["requests"]
    assert guardd["resources"]["limits"]
    # The policy is a directory mount (no subPath): the kubelet's ..data swap reaches guardd's reloader.
    mount = next(m for m in guardd["volumeMounts"] if m["name"] == "guardd-policy")
    assert mount == {"name": "guardd-policy", "mountPath": "/etc/guardd/policy", "readOnly": True}
    policy_volume = next(v for v in pod["volumes"] if v["name"] == "guardd-policy")
    # The app's volume names the ConfigMap the guardd chart renders for the same release.
    assert policy_volume["projected"]["sources"] == [{"configMap": {"name": f"{RELEASE}-guardd-policy"}}]
    labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["guardd.dev/sidecar"] == f"{RELEASE}-guardd"
    assert "annotations" not in rendered.one("Deployment")["spec"]["template"]["metadata"]


def test_the_classic_sidecar_is_a_container_without_restart_policy():
    rendered = render_app({"guardd": {"sidecar": {"mode": "classic", "preStopSleepSeconds": 5}}})
    _assert_valid(rendered)
    pod = _pod(rendered)
    assert "initContainers" not in pod
    guardd = _guardd(pod["containers"])
    assert "restartPolicy" not in guardd
    assert guardd["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert [c["name"] for c in pod["containers"]] == ["app", "guardd"]


def test_an_existing_configmap_is_mounted_and_not_rendered():
    rendered = render_chart({"policy": {"existingConfigMap": "team-policy"}})
    _assert_valid(rendered)
    assert [d["metadata"]["name"] for d in rendered.documents] == [f"{RELEASE}-guardd-dashboard"]
    app = render_app({"guardd": {"policy": {"existingConfigMap": "team-policy", "checksumAnnotation": True}}})
    _assert_valid(app)
    volume = next(v for v in _pod(app)["volumes"] if v["name"] == "guardd-policy")
    assert volume["projected"]["sources"] == [{"configMap": {"name": "team-policy"}}]
    # A ConfigMap the chart cannot read gets no checksum: it hot-reloads.
    assert "annotations" not in app.one("Deployment")["spec"]["template"]["metadata"]


@pytest.mark.parametrize(
    ("setting", "present"), [("auto", False), (True, True), (False, False)], ids=["auto", "true", "false"]
)
def test_pod_monitor_and_prometheus_rule_follow_their_switch(setting, present):
    rendered = render_chart(
        {"monitoring": {"podMonitor": {"enabled": setting}, "prometheusRule": {"enabled": setting}}}
    )
    _assert_valid(rendered)
    kinds = rendered.kinds()
    assert ("PodMonitor" in kinds, "PrometheusRule" in kinds) == (present, present)
    if present:
        monitor = rendered.one("PodMonitor")
        assert monitor["spec"]["selector"] == {"matchLabels": {"guardd.dev/sidecar": f"{RELEASE}-guardd"}}
        assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "guardd-metrics"


def test_pod_monitor_selects_the_label_the_sidecar_puts_on_pods():
    chart = render_chart(
        MONITORING_ON | {"monitoring": {"podMonitor": {"enabled": True, "labels": {"release": "kps"}}}}
    )
    app = render_app()
    selector = chart.one("PodMonitor")["spec"]["selector"]["matchLabels"]
    assert chart.one("PodMonitor")["metadata"]["labels"]["release"] == "kps"
    pod_labels = app.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    ports = {p["name"] for p in _guardd(_pod(app)["initContainers"])["ports"]}
    assert chart.one("PodMonitor")["spec"]["podMetricsEndpoints"][0]["port"] in ports


def test_redis_url_comes_from_a_secret_and_the_store_file_joins_the_policy_directory():
    rendered = render_chart({"redis": {"enabled": True, "url": "redis://redis:6379/0"}})
    _assert_valid(rendered)
    assert rendered.one("Secret")["stringData"] == {"url": "redis://redis:6379/0"}
    store = yaml.safe_load(rendered.one("ConfigMap", "-store")["data"]["zz-guardd-store.yaml"])
    assert store == {"store": {"url_env": "GUARDD_REDIS_URL", "prefix": "guardd"}}
    app = render_app(
        {"guardd": {"redis": {"enabled": True, "existingSecret": "llm-redis", "existingSecretKey": "uri"}}}
    )
    _assert_valid(app)
    guardd = _guardd(_pod(app)["initContainers"])
    env = next(e for e in guardd["env"] if e["name"] == "GUARDD_REDIS_URL")
    assert env["valueFrom"] == {"secretKeyRef": {"name": "llm-redis", "key": "uri"}}
    volume = next(v for v in _pod(app)["volumes"] if v["name"] == "guardd-policy")
    names = [s["configMap"]["name"] for s in volume["projected"]["sources"]]
    assert names == [f"{RELEASE}-guardd-policy", f"{RELEASE}-guardd-store"]


def test_the_rendered_policy_directory_is_one_guardd_accepts(tmp_path):
    rendered = render_chart({"redis": {"enabled": True, "existingSecret": "s"}})
    directory = tmp_path / "policy"
    directory.mkdir()
    for config_map in ("-policy", "-store"):
        for name, text in rendered.one("ConfigMap", config_map)["data"].items():
            (directory / name).write_text(text)
    from guardd.policy.loader import load_policy  # noqa: PLC0415

    policies = load_policy(directory)
    assert policies.store.kind == "redis"
    assert policies.store.url_env == "GUARDD_REDIS_URL"


@pytest.mark.parametrize(
    ("models", "volume"),
    [
        (
            {"source": "pvc", "pvc": {"claimName": "guardd-models"}},
            {"persistentVolumeClaim": {"claimName": "guardd-models", "readOnly": True}},
        ),
        (
            {"source": "ociImage", "image": {"repository": "ghcr.io/acme/guardd-models", "tag": "2"}},
            {"emptyDir": {"sizeLimit": "2Gi"}},
        ),
    ],
    ids=["pvc", "oci-image"],
)
def test_models_volume(models, volume):
    rendered = render_app({"guardd": {"models": models}})
    _assert_valid(rendered)
    pod = _pod(rendered)
    found = next(v for v in pod["volumes"] if v["name"] == "guardd-models")
    assert {k: v for k, v in found.items() if k != "name"} == volume
    guardd = _guardd(pod["initContainers"])
    assert {"name": "guardd-models", "mountPath": "/etc/guardd/models", "readOnly": True} in guardd["volumeMounts"]
    names = [c["name"] for c in pod["initContainers"]]
    if models["source"] == "ociImage":
        assert names == ["guardd-models", "guardd"]  # copied before guardd starts
        assert pod["initContainers"][0]["command"] == ["cp", "-R", "/models/.", "/guardd-models/"]
    else:
        assert names == ["guardd"]


TLS_ON = {"tls": {"enabled": True, "secretName": "guardd-tls"}}


def test_without_tls_nothing_is_mounted_and_probes_use_the_grpc_port():
    guardd = _guardd(_pod(render_app())["initContainers"])
    assert not [a for a in guardd["args"] if a.startswith(("--tls", "--health", "--admin"))]
    assert [p["name"] for p in guardd["ports"]] == ["guardd-grpc", "guardd-metrics"]
    assert "guardd-tls" not in {m["name"] for m in guardd["volumeMounts"]}
    assert "GUARDD_ADMIN_TOKEN" not in {e["name"] for e in guardd["env"]}


def test_tls_mounts_the_secret_and_moves_the_probes_to_the_plaintext_health_port():
    rendered = render_app({"guardd": TLS_ON})
    _assert_valid(rendered)
    pod = _pod(rendered)
    guardd = _guardd(pod["initContainers"])
    assert guardd["args"][-3:] == [
        "--tls-cert=/etc/guardd/tls/tls.crt",
        "--tls-key=/etc/guardd/tls/tls.key",
        "--health-port=50052",
    ]
    assert {"name": "guardd-health", "containerPort": 50052, "protocol": "TCP"} in guardd["ports"]
    # The kubelet's gRPC probes cannot speak TLS: all three go to the health-only port.
    for kind, service in [("startup", "guardd.v1.Guard"), ("readiness", "guardd.v1.Guard"), ("liveness", "")]:
        assert guardd[f"{kind}Probe"]["grpc"] == {"port": 50052, "service": service}
    assert {"name": "guardd-tls", "mountPath": "/etc/guardd/tls", "readOnly": True} in guardd["volumeMounts"]
    volume = next(v for v in pod["volumes"] if v["name"] == "guardd-tls")
    # Projected (no subPath): a renewed Secret reaches guardd, which reloads the files on change.
    assert volume["projected"]["sources"] == [
        {
            "secret": {
                "name": "guardd-tls",
                "items": [{"key": "tls.crt", "path": "tls.crt"}, {"key": "tls.key", "path": "tls.key"}],
            }
        }
    ]


@pytest.mark.parametrize(
    ("client_ca", "source"),
    [
        ({}, {"name": "guardd-tls", "key": "ca.crt"}),
        ({"secretName": "clients-ca", "key": "bundle.pem"}, {"name": "clients-ca", "key": "bundle.pem"}),
    ],
    ids=["ca-beside-the-certificate", "ca-in-its-own-secret"],
)
def test_mtls_mounts_the_client_ca_and_passes_it(client_ca, source):
    tls = {"tls": {"enabled": True, "secretName": "guardd-tls", "clientAuth": True, "clientCA": client_ca}}
    rendered = render_app({"guardd": tls})
    _assert_valid(rendered)
    guardd = _guardd(_pod(rendered)["initContainers"])
    assert "--tls-client-ca=/etc/guardd/tls/ca.crt" in guardd["args"]
    volume = next(v for v in _pod(rendered)["volumes"] if v["name"] == "guardd-tls")
    ca = volume["projected"]["sources"][1]["secret"]
    assert ca == {"name": source["name"], "items": [{"key": source["key"], "path": "ca.crt"}]}


def test_the_admin_token_comes_from_a_secret_by_reference_and_identities_become_flags():
    admin = {"admin": {"tokenSecret": {"name": "guardd-admin", "key": "secret"}, "identities": ["ops-admin", "sre"]}}
    rendered = render_app(
        {"guardd": {**admin, "tls": {"enabled": True, "secretName": "guardd-tls", "clientAuth": True}}}
    )
    _assert_valid(rendered)
    guardd = _guardd(_pod(rendered)["initContainers"])
    assert guardd["args"][-3:] == ["--admin-token-env", "--admin-identity=ops-admin", "--admin-identity=sre"]
    env = next(e for e in guardd["env"] if e["name"] == "GUARDD_ADMIN_TOKEN")
    assert env == {
        "name": "GUARDD_ADMIN_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "guardd-admin", "key": "secret"}},
    }


@pytest.mark.parametrize("port", [50051, 9464], ids=["grpc-port", "metrics-port"])
def test_a_health_port_shared_with_another_port_fails_the_render(port):
    rendered = render_app({"guardd": {**TLS_ON, "sidecar": {"healthPort": port}}})
    (message,) = set(rendered.fails)  # once per place the sidecar is included
    assert message.startswith("sidecar.healthPort: with tls.enabled the plaintext health port needs a port of its own")


def test_the_checksum_annotation_changes_with_the_policy():
    one = render_app({"guardd": {"policy": {"checksumAnnotation": True}}})
    other = render_app({"guardd": {"policy": {"checksumAnnotation": True, "files": {"default.yaml": "version: 1\n"}}}})
    annotation = "checksum/guardd-policy"
    first = one.one("Deployment")["spec"]["template"]["metadata"]["annotations"][annotation]
    second = other.one("Deployment")["spec"]["template"]["metadata"]["annotations"][annotation]
    assert len(first) == 64
    assert first != second


BAD_VALUES = [
    ({"sidecar": {"mode": "sidecar"}}, "'sidecar' is not one of ['native', 'classic']"),
    ({"sidecar": {"grpcPort": 70000}}, "70000 is greater than the maximum of 65535"),
    ({"redis": {"enabled": True}}, "is not valid under any of the given schemas"),
    ({"models": {"source": "pvc"}}, "'' should be non-empty"),
    ({"policy": {"files": {"policy.json": "{}"}}}, "does not match"),
    ({"monitoring": {"podMonitor": {"enabled": "yes"}}}, "'yes' is not one of ['auto', True, False]"),
    ({"sidecars": {}}, "Additional properties are not allowed ('sidecars' was unexpected)"),
    ({"tls": {"enabled": True}}, "'' should be non-empty"),
    ({"tls": {"clientAuth": True, "secretName": "t"}}, "True was expected"),
    ({"admin": {"identities": ["ops"]}, "tls": {"enabled": True, "secretName": "t"}}, "True was expected"),
    ({"admin": {"token": "s3cret"}}, "Additional properties are not allowed ('token' was unexpected)"),
    ({"admin": {"tokenSecret": {"name": "Admin_Token", "key": "token"}}}, "does not match"),
]


@pytest.mark.parametrize(
    ("override", "message"),
    BAD_VALUES,
    ids=[
        "mode",
        "port",
        "redis-without-url",
        "pvc-without-claim",
        "policy-not-yaml",
        "monitor-switch",
        "unknown-key",
        "tls-without-secret",
        "mtls-without-tls",
        "admin-identity-without-mtls",
        "admin-token-literal",
        "admin-secret-bad-name",
    ],
)
def test_values_that_violate_the_schema_fail(override, message):
    values = merge(DEFAULTS, override)
    errors = [e.message for e in jsonschema.Draft7Validator(SCHEMA).iter_errors(values)]
    assert any(message in e for e in errors), errors
    # Real Helm rejects them too (lint reports the values file; install stops there with the same schema).
    rendered_lint = _lint_with_values(values)
    assert "values.yaml" in rendered_lint


def test_bad_guardd_values_fail_in_the_app_chart_too():
    app_values = yaml.safe_load((APP / "values.yaml").read_text())
    assert _lint_app_with_values(app_values) == []
    # Helm checks a dependency's values against its schema when it renders (lint reports it under templates/).
    assert _lint_app_with_values(merge(app_values, {"guardd": {"sidecar": {"mode": "sidecar"}}})) != []


def test_the_default_values_satisfy_the_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(DEFAULTS, SCHEMA)
    assert _lint_with_values(DEFAULTS) == []


def test_kubernetes_validation_can_fail():
    broken = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}, "dta": {}}
    assert validate([broken])[0]["ok"] is False


def _lint_with_values(values: dict[str, Any]) -> list[str]:
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "guardd"
        shutil.copytree(CHART, chart)
        (chart / "values.yaml").write_text(yaml.safe_dump(values))
        result, _ = lint(chart)
    return [m["path"] for m in result["messages"] if m["severity"] == "error"]


def _lint_app_with_values(values: dict[str, Any]) -> list[str]:
    import shutil  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        chart = Path(tmp) / "app"
        shutil.copytree(APP, chart)
        shutil.copytree(CHART, chart / "charts" / "guardd")
        (chart / "values.yaml").write_text(yaml.safe_dump(values))
        result, _ = lint(chart)
    return [m["path"] for m in result["messages"] if m["severity"] == "error"]
