"""Phones in 20 regions' national formats and every country's +CC form; cards of 12-19 digits; what is neither."""

import asyncio
from collections import Counter

import pytest

from guardd.guardrails.base import BuildEnv, CheckContext
from guardd.guardrails.pii import PiiConfig
from guardd.guardrails.pii_numbers import DEFAULT_PHONE_REGIONS, card_spans, phone_spans
from guardd.guardrails.pii_recognizers import luhn_valid
from guardd.guardrails.pii_samples import card_samples, phone_samples

TARGET_RECALL, TARGET_PRECISION = 0.95, 0.90


@pytest.fixture(scope="module")
def flag():
    return PiiConfig.model_validate({"name": "pii", "type": "pii", "on_fail": "flag"}).build(BuildEnv())


def found(guardrail, text):
    result = asyncio.run(guardrail.check(text, CheckContext(stage="input")))
    return [(d.category, text[s.start : s.end]) for d in result.detections for s in d.spans]


@pytest.mark.parametrize(
    "text",
    [
        "+44 20 7946 0958",
        "+49 30 12345678",
        "+81 3-1234-5678",
        "+55 11 91234-5678",
        "+234 803 123 4567",  # Nigeria: not a default region, found by its country code
        "030 12345678",  # Germany, national
        "01 23 45 67 89",  # France
        "(02) 9876 5432",  # Australia
        "612 345 678",  # Spain
        "98765 43210",  # India
        "call me on 0301234567",  # bare digits, with a word that says phone
    ],
)
def test_phone_numbers_of_many_countries_are_found_whole(text):
    value = text.removeprefix("call me on ")
    spans = [text[a:b] for a, b, _ in phone_spans(text, DEFAULT_PHONE_REGIONS)]
    assert spans == [value]


@pytest.mark.parametrize(
    "text",
    [
        "Order 123456789 shipped",  # a bare id with no word saying phone
        "released 1.5.0 / 2022-11-29",
        "golang.org/x/net v0.0.0-20200324143707-d3edc9973b7e",
        "bind 192.168.1.100 10.0.0.1",
        "loads 0.21 0.37 0.39",
        "about 3.000.000 km2, 29 000-24 000 BP",
        "card 4111 1111 1111 1111",  # a card is a card, not a phone
        "SSN 536-90-4399 on file",  # the SSN's shape, though its digits make a valid Polish mobile
    ],
)
def test_versions_dates_addresses_amounts_and_cards_are_not_phones(text):
    assert list(phone_spans(text, DEFAULT_PHONE_REGIONS)) == []


@pytest.mark.parametrize(
    "card",
    [
        "4111111111111111",
        "2221 0012 3412 3450",  # Mastercard's 2-series (presidio's pattern misses it)
        "3056 930902 5904",  # Diners 4-6-4
        "3714-496353-98431",  # Amex 4-6-5
        "6759649826438453",  # Maestro
        "4000 0000 0000 0000 006",  # 19 digits
    ],
)
def test_cards_of_every_network_and_grouping_are_found(card):
    assert luhn_valid(card)
    text = f"pay with {card} today"
    assert [text[a:b] for a, b in card_spans(text)] == [card]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE44 5001 0517 5407 3249 31",  # an IBAN's digits pass Luhn by chance; they are an IBAN
        "call +4930123456789 now",  # after a +, a phone
        "sha f57938ad30067077720277f6d7db",  # digits inside a hash
        "4111 1111-1111 1111",  # mixed separators: two numbers side by side
        "4000123412341235",  # Luhn fails
    ],
)
def test_ibans_phones_hashes_and_failed_checksums_are_not_cards(text):
    assert list(card_spans(text)) == []


def test_generated_multi_locale_numbers_meet_the_recall_and_precision_targets(flag):
    samples = phone_samples(seed=11) + card_samples(seed=11)
    hits, misses, false = Counter(), Counter(), Counter()
    for sample in samples:
        reported = found(flag, sample.text)
        for entity, start, end in sample.gold:
            hit = (entity, sample.text[start:end]) in reported
            (hits if hit else misses)[entity] += 1
        gold = {(e, sample.text[a:b]) for e, a, b in sample.gold}
        false.update(e for e, v in reported if e in {"PHONE_NUMBER", "CREDIT_CARD"} and (e, v) not in gold)
    for entity in ("PHONE_NUMBER", "CREDIT_CARD"):
        assert hits[entity] / (hits[entity] + misses[entity]) >= TARGET_RECALL, (entity, misses)
        assert hits[entity] / (hits[entity] + false[entity]) >= TARGET_PRECISION, (entity, false)
    assert len({s.style.split("/")[1] for s in samples if s.style.startswith("phone")}) >= 15 + 1
