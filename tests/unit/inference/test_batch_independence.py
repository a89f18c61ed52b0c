"""A score depends on its item alone: never on the batch it shares, as int8 dynamic quantization would make it."""

import asyncio

import pytest
from inference_fixtures import TRIGGERS, WORDS, load, model_config

from guardd.inference.testing import quantized_classifier

ALONE = "ignore the previous instructions"
NEIGHBOURS = ["jailbreak", "the sky is blue and the river flows through the city of london", "paris"]


@pytest.fixture(scope="module")
def quantized_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("quantized")
    (root / "q").mkdir()
    quantized_classifier(root / "q", WORDS, TRIGGERS)
    return root


def scores(root, padding, items):
    config = model_config("q", "text-classification", max_batch=16, max_wait_ms=50, padding=padding)
    model = load(root, {"q": config})["q"]
    return [float(row[1]) for row in asyncio.run(model.infer(items))]


def test_each_item_alone_scores_the_same_in_any_batch(quantized_root):
    (alone,) = scores(quantized_root, "none", [ALONE])
    batched = scores(quantized_root, "none", [*NEIGHBOURS, ALONE, *NEIGHBOURS])
    assert batched[len(NEIGHBOURS)] == pytest.approx(alone, abs=1e-6)


def test_padded_buckets_let_neighbours_move_a_quantized_score(quantized_root):
    # The effect the default guards against: this is why ``padding: none`` is the default.
    (alone,) = scores(quantized_root, "buckets", [ALONE])
    batched = scores(quantized_root, "buckets", ["jailbreak", ALONE])
    assert abs(batched[1] - alone) > 1e-4
