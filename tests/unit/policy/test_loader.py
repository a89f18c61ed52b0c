"""Policies load into frozen objects, or fail with every error located as file:line:col."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardd.errors import PolicyError
from guardd.policy.loader import load_policy

DATA = Path(__file__).resolve().parents[2] / "data" / "policies"
ROOT = Path(__file__).resolve().parents[3]
EXPECT = re.compile(r"^# expect: (?:(\d+):(\d+): )?(.*)$", re.MULTILINE)


def _expectations(path: Path) -> list[tuple[int | None, int | None, str]]:
    found = EXPECT.findall(path.read_text())
    assert found, f"{path.name} declares no '# expect:' lines"
    return [(int(line) if line else None, int(col) if col else None, text) for line, col, text in found]


@pytest.mark.parametrize("path", sorted((DATA / "invalid").glob("*.yaml")), ids=lambda p: p.stem)
def test_invalid_policy_reports_each_error_with_its_position(path):
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    rendered = [str(d) for d in caught.value.diagnostics]
    for line, column, text in _expectations(path):
        prefix = f"{path}:{line}:{column}: " if line else f"{path}:"
        assert any(r.startswith(prefix) and text in r for r in rendered), (prefix, text, rendered)


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "policies/default.yaml",
        *sorted((ROOT / "policies/examples").glob("*.yaml")),
        *sorted((DATA / "valid").glob("*.yaml")),
        DATA / "valid/split",
    ],
    ids=lambda p: p.stem,
)
def test_shipped_and_valid_policies_load(path):
    policies = load_policy(path)
    assert policies.policies
    assert re.fullmatch(r"[0-9a-f]{12}", policies.version)


def test_extends_overrides_by_name_disables_and_appends():
    policies = load_policy(DATA / "valid/extends.yaml").policies
    child = policies["child"]
    assert [g.name for g in child.input] == ["injection", "words"]
    assert child.input[0].threshold == 0.4  # type: ignore[attr-defined]
    assert policies["base"].input[0].threshold == 0.7  # type: ignore[attr-defined]
    assert child.limits.max_text_bytes == 100
    assert policies["base"].limits.max_text_bytes == 2048


def test_directory_is_one_policy_set_across_files():
    policies = load_policy(DATA / "valid/split")
    assert set(policies.policies) == {"default", "strict"}
    assert [g.name for g in policies.policies["strict"].input] == ["injection", "size"]
    assert len(policies.files) == 2


def test_a_policy_defined_in_two_files_is_an_error(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("version: 1\npolicies:\n  default: {}\n")
    with pytest.raises(PolicyError, match=r"b\.yaml:3:3: 'policies.default' is already defined"):
        load_policy(tmp_path)


def test_version_is_a_content_hash(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("version: 1\npolicies:\n  default: {}\n")
    first = load_policy(path).version
    assert load_policy(path).version == first
    path.write_text("version: 1\npolicies:\n  default: {description: changed}\n")
    assert load_policy(path).version != first


def test_configs_are_frozen():
    guardrail = load_policy(ROOT / "policies/default.yaml").policies["default"].input[0]
    with pytest.raises(ValidationError, match="frozen"):
        guardrail.threshold = 0.1  # type: ignore[attr-defined,misc]


def test_missing_path_and_empty_directory_are_reported(tmp_path):
    with pytest.raises(PolicyError, match="policy path does not exist"):
        load_policy(tmp_path / "nope.yaml")
    with pytest.raises(PolicyError, match=r"no \*\.yaml or \*\.yml policy files"):
        load_policy(tmp_path)


def test_configmap_layout_reads_each_key_once(tmp_path):
    # kubelet: key -> ..data/key, ..data -> ..2024_01_01/ ; hidden entries must be ignored.
    version_dir = tmp_path / "..2024_01_01"
    version_dir.mkdir()
    (version_dir / "policy.yaml").write_text("version: 1\npolicies:\n  default: {}\n")
    (tmp_path / "..data").symlink_to(version_dir.name)
    (tmp_path / "policy.yaml").symlink_to("..data/policy.yaml")
    policies = load_policy(tmp_path)
    assert len(policies.files) == 1
