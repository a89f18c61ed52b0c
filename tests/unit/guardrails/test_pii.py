"""The pii guardrail in-process: config validation, recognizers, operators, false positives."""

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from guardd.guardrails.base import BuildEnv, CheckContext
from guardd.guardrails.pii import PiiConfig
from guardd.guardrails.pii_recognizers import luhn_valid, mod97_valid
from guardd.guardrails.pii_redact import merge

SALT = "a-salt-of-at-least-16-bytes"


def config(**fields):
    return PiiConfig.model_validate({"name": "pii", "type": "pii", **fields})


def check(guardrail, text):
    return asyncio.run(guardrail.check(text, CheckContext(stage="input")))


@pytest.fixture(scope="module")
def flag():
    """The default entity set, reporting only: built once, in-process (no pool)."""
    return config(on_fail="flag").build(BuildEnv())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"entities": ["PERSON"]}, "PERSON need(s) engine: spacy"),
        ({"engine": "spacy"}, "needs model"),
        ({"on_fail": "modify", "operator": "hash"}, "needs a per-deployment salt"),
        ({"on_fail": "modify", "operator": "hash", "salt": "short"}, "at least 16 characters"),
        ({"salt": SALT, "salt_env": "X"}, "only one of"),
        ({"entities": ["email"]}, "should match pattern"),
        ({"recognizers": [{"name": "r", "supported_entity": "X"}]}, "needs patterns or a deny_list"),
        (
            {
                "recognizers": [
                    {"name": "r", "supported_entity": "X", "patterns": [{"name": "p", "regex": "(", "score": 1}]}
                ]
            },
            "not a valid regex",
        ),
        ({"typo": 1}, "Extra inputs"),
    ],
)
def test_invalid_configs_are_rejected(fields, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config(**fields)


def test_a_spacy_model_that_is_not_installed_fails_at_build_not_at_first_request():
    entry = config(engine="spacy", model="en_core_web_nonexistent_xx")
    with pytest.raises(ValueError, match=r"not installed.*never downloads"):
        entry.build(BuildEnv())


def test_an_entity_without_a_recognizer_fails_at_build():
    with pytest.raises(ValueError, match="no recognizer for NOT_AN_ENTITY"):
        config(entities=["NOT_AN_ENTITY"]).build(BuildEnv())


def test_the_salt_comes_from_the_environment_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PII_TEST_SALT", SALT)
    (tmp_path / "salt").write_text(SALT + "\n")
    from_env = config(on_fail="modify", operator="hash", salt_env="PII_TEST_SALT").redact_spec(tmp_path)
    from_file = config(on_fail="modify", operator="hash", salt_file="salt").redact_spec(tmp_path)
    assert from_env.salt == from_file.salt == SALT.encode()
    monkeypatch.setenv("PII_TEST_SALT", "")
    with pytest.raises(ValueError, match="PII_TEST_SALT must hold a salt"):
        config(on_fail="modify", operator="hash", salt_env="PII_TEST_SALT").redact_spec(tmp_path)


def test_categories_are_the_entities_and_custom_recognizers():
    entry = config(recognizers=[{"name": "r", "supported_entity": "EMPLOYEE_ID", "deny_list": ["x"]}])
    assert entry.categories == (
        "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "EMPLOYEE_ID"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "category", "value"),
    [
        ("write to jane.doe@example.com today", "EMAIL_ADDRESS", "jane.doe@example.com"),
        ("my card is 4111 1111 1111 1111", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("call me at (212) 555-0199", "PHONE_NUMBER", "(212) 555-0199"),
        ("SSN 536-90-4399 on file", "US_SSN", "536-90-4399"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
        ("server at 10.20.30.40 is down", "IP_ADDRESS", "10.20.30.40"),
    ],
)
def test_default_entities_are_found_with_their_spans(flag, text, category, value):
    result = check(flag, text)
    (detection,) = [d for d in result.detections if d.category == category]
    (span,) = detection.spans
    assert text[span.start : span.end] == value
    assert value not in detection.message  # a finding must not leak the value into logs


ORDINARY = [
    "The meeting moved to 2024-03-05 at 10:30, room 42, building 7.",
    "Order 123456789 shipped on March 5th; invoice 2024-0042 totals $1,234.56.",
    "Version 3.11.7 fixed issue #45123 and bumped the build to 20240305.1.",
    "Population grew from 8,336,817 in 2020 to 8,804,190 in 2023.",
    "Set timeout=30000 and retries=5; port 50051 serves gRPC, 9464 serves metrics.",
    "Chapter 12, page 345, paragraph 6; ISBN 978-0-13-110362-7.",
    "Coordinates 40.7128, -74.0060; elevation 10 m; temperature 21.5 C.",
    "The patient's blood pressure was 120/80 and heart rate 72 bpm on 05/03/2024.",
    "SKU A1B2C3D4 is out of stock; restock ETA 14 days, batch 0012345678.",
    "Born in 1987, she graduated in 2009 and joined in June 2015.",
    "Run `pip install numpy==1.26.4` then python -m pytest -q --maxfail=1.",
    "Account overview: 3 open tickets, 17 closed, 98.6% SLA, p99 245 ms.",
    "Please summarise chapters one through nine in three bullet points.",
    "Reference number 4000123412341235 is not a card: its checksum fails.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_the_default_entity_set_does_not_flag_ordinary_words_numbers_and_dates(flag, text):
    assert check(flag, text).detections == ()


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        ("US_DRIVER_LICENSE", "batch 0012345678 and build W1234567"),  # scored 0.3
        ("UK_NHS", "ISBN 978-0-13-110362-7 and part 4505577104"),  # scored 1.0: a passing checksum
    ],
)
def test_recognizers_the_default_set_leaves_out_fire_on_ordinary_codes_but_can_be_opted_in(entity, text):
    opted_in = config(on_fail="flag", entities=[entity], score_threshold=0.3).build(BuildEnv())
    assert [d.category for d in check(opted_in, text).detections] == [entity]


def test_the_allow_list_and_the_threshold_drop_findings():
    text = "mail support@example.com or jane@example.com, call 212-555-0199"
    allowed = config(on_fail="flag", allow_list=["support@example.com"], score_threshold=0.7).build(BuildEnv())
    result = check(allowed, text)
    assert [d.category for d in result.detections] == ["EMAIL_ADDRESS"]  # the 0.6 phone is under 0.7
    assert [text[s.start : s.end] for s in result.detections[0].spans] == ["jane@example.com"]


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("replace", "card <CREDIT_CARD> or <EMAIL_ADDRESS>."),
        ("mask", "card ***************1111 or ***.com."),
        ("redact", "card  or ."),
    ],
)
def test_operators_rewrite_every_finding_with_edits(operator, expected):
    guardrail = config(on_fail="modify", operator=operator).build(BuildEnv())
    text = "card 4111 1111 1111 1111 or a@b.com."
    result = check(guardrail, text)
    assert result.new_text == expected
    assert [(e.start, e.end) for e in result.edits] == [(5, 24), (28, 35)]


def test_hash_tokens_are_stable_per_salt_and_differ_across_salts():
    text = "a@b.com wrote to c@d.com and a@b.com"
    one = check(config(on_fail="modify", operator="hash", salt=SALT).build(BuildEnv()), text).new_text
    two = check(config(on_fail="modify", operator="hash", salt=SALT + "2").build(BuildEnv()), text).new_text
    first, _, _, second, _, third = one.split(" ")
    assert first == third != second
    assert first.startswith("<EMAIL_ADDRESS:")
    assert one != two


def test_a_custom_yaml_recognizer_uses_its_checksum(tmp_path):
    (tmp_path / "recognizers.yaml").write_text(
        textwrap.dedent("""\
        recognizers:
          - name: loyalty
            supported_entity: LOYALTY_CARD
            patterns: [{name: card, regex: '\\b77\\d{10}\\b', score: 0.1}]
            checksum: luhn
        """)
    )
    guardrail = config(on_fail="flag", recognizers_file="recognizers.yaml").build(BuildEnv(base_dir=tmp_path))
    result = check(guardrail, "cards 771234567895 and 771234567890")
    (detection,) = result.detections
    assert detection.category == "LOYALTY_CARD"
    assert detection.score == 1.0  # a valid checksum lifts the weak pattern score
    assert [(s.start, s.end) for s in detection.spans] == [(6, 18)]


def test_checksums():
    assert luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("4111 1111 1111 1112")
    assert mod97_valid("GB82 WEST 1234 5698 7654 32")
    assert not mod97_valid("GB83 WEST 1234 5698 7654 32")


def test_overlapping_findings_merge_under_the_best_score():
    assert merge((("A", 0, 5, 0.5), ("B", 3, 9, 0.9), ("C", 12, 14, 0.4))) == [
        ("A", 0, 9, 0.9),
        ("C", 12, 14, 0.4),
    ]


def test_analysis_never_touches_the_network(tmp_path):
    # A fresh interpreter, so presidio and tldextract are imported under the patch.
    script = textwrap.dedent("""\
        import socket
        attempts = []
        def refuse(*args, **kwargs):
            attempts.append(args)
            raise OSError("network disabled by test")
        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        import asyncio
        from guardd.guardrails.base import BuildEnv, CheckContext
        from guardd.guardrails.pii import PiiConfig
        entry = PiiConfig.model_validate({"name": "p", "type": "pii", "entities": ["EMAIL_ADDRESS", "URL"]})
        result = asyncio.run(entry.build(BuildEnv()).check("see https://example.org or a@b.co", CheckContext(stage="input")))
        assert sorted(d.category for d in result.detections) == ["EMAIL_ADDRESS", "URL"], result
        assert attempts == [], attempts
        print("offline ok")
    """)
    # An empty tldextract cache: a suffix list cached by an earlier run would hide a fetch.
    env = {**os.environ, "TLDEXTRACT_CACHE": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "offline ok" in done.stdout
    assert "Traceback" not in done.stderr  # tldextract's network fallback prints one


def test_the_example_policy_checks():
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-m", "guardd.cli", "check", str(root / "policies/examples/pii.yaml")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
