"""``guardd check`` and ``guardd validate`` as an SRE runs them."""

import json
from pathlib import Path

from guardd.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests/data/policies/invalid"


def test_check_a_clean_policy_exits_0(capsys):
    assert main(["check", str(ROOT / "policies/default.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: version ")
    assert "default: input ['injection'] output ['refusal', 'hallucination']" in out


def test_check_prints_every_error_as_file_line_col_and_exits_1(capsys):
    path = INVALID / "many-errors.yaml"
    assert main(["check", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{path}:") for line in lines)


def test_validate_prints_the_decision_as_json(capsys):
    policy = ROOT / "policies/examples/structured-output.yaml"
    text = '```json\n{"answer": "42", "confidence": 0.9,}\n```'
    assert main(["validate", "--policy", str(policy), "--name", "structured", "--stage", "output", text]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["verdict"] == "modify"
    assert json.loads(decision["text"]) == {"answer": "42", "confidence": 0.9}


def test_validate_unknown_policy_name_is_a_usage_error(capsys):
    assert (
        main(["validate", "--policy", str(ROOT / "policies/default.yaml"), "--name", "x", "--stage", "input", "hi"])
        == 2
    )
    assert "unknown policy 'x'" in capsys.readouterr().err
