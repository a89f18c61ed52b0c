"""Every upstream call lands in exactly one category of the failure taxonomy."""

import pytest

from guardd.events import HARD, KNOWN_ERROR_TYPES, classify_outcome, soft_failures


@pytest.mark.parametrize(
    ("status", "error_type", "category"),
    [
        (200, "", "ok"),
        (201, "", "ok"),
        (429, "", "rate_limit"),
        (408, "", "timeout"),
        (504, "", "timeout"),
        (0, "timeout", "timeout"),
        (0, "deadline_exceeded", "timeout"),
        (500, "", "server_error"),
        (502, "", "server_error"),
        (503, "", "server_error"),
        (401, "", "auth_error"),
        (403, "", "auth_error"),
        (413, "", "context_overflow"),
        (400, "context_length_exceeded", "context_overflow"),
        (400, "", "client_error"),
        (404, "", "client_error"),
        (0, "", "network"),
        (0, "connection_error", "network"),
        (200, "TIMEOUT ", "timeout"),  # error types are trimmed and case-insensitive
        (500, "rate_limit", "rate_limit"),  # a named error type beats the status
        (0, "server_error", "server_error"),
    ],
)
def test_classify_outcome(status, error_type, category):
    assert classify_outcome(status, error_type) == category


def test_every_known_error_type_names_a_hard_category():
    assert {classify_outcome(200, name) for name in KNOWN_ERROR_TYPES} <= HARD


@pytest.mark.parametrize(
    ("categories", "blocked", "failures"),
    [
        ([], False, set()),
        (["hallucination"], False, {"hallucination"}),
        (["refusal", "schema"], False, {"refusal", "format_violation"}),
        (["injection", "EMAIL_ADDRESS"], False, set()),  # findings that are not output quality
        (["EMAIL_ADDRESS"], True, {"blocked_output"}),
        (["hallucination"], True, {"hallucination", "blocked_output"}),
    ],
)
def test_soft_failures_of_an_output_verdict(categories, blocked, failures):
    assert soft_failures(categories, blocked=blocked) == failures
