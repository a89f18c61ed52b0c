"""Hallucination guardrail: claims, premises, numbers, and NLI / grounding scoring on tiny real models."""

import asyncio
import sys
from pathlib import Path

import pytest

from guardd.errors import GuardrailFailure
from guardd.guardrails.base import CLEAN, BuildEnv, CheckContext, Span
from guardd.guardrails.hallucination import NO_CONTEXT, HallucinationConfig
from guardd.guardrails.hallucination_claims import (
    Premises,
    best_chunks,
    chunks,
    claims,
    content_words,
    hypothesis,
    question_of,
    sentences,
)
from guardd.guardrails.hallucination_numbers import unsupported_numbers

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from inference_fixtures import build_tiny_models, load, model_config

CONTEXT = (
    "Paris is the capital of France. The Eiffel Tower was completed in 1889 and is located in Paris.",
    "The river flows through the city.",
)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    build_tiny_models(root)
    return load(
        root,
        {
            "nli": model_config("pair", "pair-classification"),
            "emb": model_config("embedder", "embedding"),
            "cls": model_config("classifier", "text-classification"),
        },
    )


def build(models, **fields):
    config = HallucinationConfig.model_validate({"name": "h", "type": "hallucination", **fields})
    return config.build(BuildEnv(models=models))


def check(guardrail, text, context=CONTEXT):
    return asyncio.run(guardrail.check(text, CheckContext(stage="output", context=tuple(context))))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two three.", ["One.", "Two three."]),
        ("Dr. Smith met Mr. Jones. They talked.", ["Dr. Smith met Mr. Jones.", "They talked."]),
        ("It costs 3.5 dollars. Cheap!", ["It costs 3.5 dollars.", "Cheap!"]),
        ("e.g. this stays. And the U.S. economy grew.", ["e.g. this stays.", "And the U.S. economy grew."]),
        ("First line\n\nsecond para", ["First line", "second para"]),
        ("  padded sentence.  ", ["padded sentence."]),
        ("", []),
    ],
)
def test_sentences_split_on_boundaries_not_abbreviations(text, expected):
    found = list(sentences(text))
    assert [s for s, _ in found] == expected
    assert all(text[span.start : span.end] == s for s, span in found)


def test_claims_skip_sentences_that_assert_nothing_and_are_bounded():
    found = claims("Sure! Paris is the capital of France. Yes. The moon is cheese.", min_words=3, limit=1)
    assert [c.text for c in found] == ["Paris is the capital of France."]
    assert found[0].span == Span(6, 37)


def test_a_short_answer_is_one_claim_only_when_there_is_a_question():
    assert claims("Delhi", min_words=3, limit=5) == []
    (short,) = claims("  Delhi.", min_words=3, limit=5, question="Which city?")
    assert (short.text, short.span) == ("Delhi.", Span(2, 8))
    # A longer answer keeps the min_words rule: "Sure!" still asserts nothing.
    found = claims("Sure! It is Delhi in India.", min_words=3, limit=5, question="Which city?")
    assert [c.text for c in found] == ["It is Delhi in India."]
    assert claims("?!", min_words=3, limit=5, question="Which city?") == []


def test_the_question_is_the_end_of_the_prompt_and_reads_before_the_claim():
    prompt = "Context: long pasted passage " * 20 + "Question: which city hosts the head office?"
    assert question_of(prompt, 5) == "city hosts the head office?"
    assert question_of("Which city?") == "Which city?"
    assert question_of(prompt, 0) == ""
    assert hypothesis("Delhi.", "Which city?") == "Which city? Delhi."
    assert hypothesis("Delhi.", "") == "Delhi."


def test_chunks_pack_whole_sentences_up_to_the_word_budget():
    passage = "One two three. Four five six. Seven eight nine ten eleven twelve thirteen."
    assert chunks([passage], max_words=6, limit=10) == [
        "One two three. Four five six.",
        "Seven eight nine ten eleven twelve",
        "thirteen.",
    ]
    assert chunks([passage, "x y."], max_words=100, limit=1) == [passage]


def test_retrieval_picks_the_chunks_sharing_the_most_words():
    chunk_words = [content_words(c) for c in ("the moon is cheese", "paris capital france", "tower paris built")]
    assert best_chunks(content_words("Paris is the capital"), chunk_words, 1) == [1]
    assert best_chunks(content_words("The tower in Paris was built"), chunk_words, 2) == [2, 1]


def test_a_premise_is_the_best_sentence_read_with_its_neighbours_next_first():
    passage = "Alpha one. Beta two words here. Paris is the capital of France. Gamma three. Delta four five."
    premises = Premises.of([passage], max_words=10, limit=100)
    # 6 words of evidence, then the next sentence (2); the previous (4) or the one after (3) would pass 10.
    assert premises.best(content_words("the capital of France is Paris"), 1) == [
        "Paris is the capital of France. Gamma three."
    ]
    assert Premises.of([passage], max_words=11, limit=100).best(content_words("Paris capital"), 1) == [
        "Paris is the capital of France. Gamma three. Delta four five."
    ]
    assert Premises.of([passage], max_words=40, limit=100).best(content_words("Paris capital"), 1) == [passage]


def test_premises_stay_inside_their_passage_and_top_k_gives_distinct_windows():
    premises = Premises.of(["The tower is in Paris.", "Paris has a river. The river is long."], 50, 100)
    assert premises.best(content_words("The tower in Paris"), 1) == ["The tower is in Paris."]
    assert premises.best(content_words("The river in Paris"), 2) == [
        "Paris has a river. The river is long.",
        "The tower is in Paris.",
    ]


def test_premises_cut_long_sentences_and_keep_only_the_first_sentences():
    premises = Premises.of(["one two three four five six seven.", "Later sentence."], max_words=3, limit=2)
    assert premises.sentences == ("one two three", "four five six")
    assert not Premises.of(["   "], 10, 10)


@pytest.mark.parametrize(
    ("answer", "unsupported"),
    [
        ("It was completed in 1889.", []),
        ("It was completed in 1887.", ["1887"]),
        ("About 1,200 people and 3.50 euros.", []),
        ("About 1,300 people and 3.55 euros.", ["1,300", "3.55"]),
        ("Three rivers, 3 of them.", []),
        ("One of the 1 things.", []),
        ("Revenue grew 12% in 2021.", ["12", "2021"]),
        ("The 3rd tower.", []),
    ],
)
def test_numbers_absent_from_every_passage_are_reported(answer, unsupported):
    context = ("Completed in 1889 by 1200 workers, 3.5 euros each.", "It has three rivers.")
    assert [m.written for m in unsupported_numbers(answer, context)] == unsupported


def test_nli_flags_the_unsupported_sentence_with_its_span(models):
    guardrail = build(models, model="nli")
    answer = "Paris is the capital of France. London people made moon cheese."
    result = check(guardrail, answer)
    (finding,) = result.detections
    assert finding.category == "hallucination"
    assert finding.spans == (Span(32, 63),)
    assert answer[32:63] == "London people made moon cheese."
    assert finding.score > 0.9
    assert result.score == finding.score


def test_a_short_answer_is_judged_as_the_answer_to_the_prompts_question(models):
    guardrail = build(models, model="nli", top_k=1)

    def answer(text, prompt):
        return asyncio.run(guardrail.check(text, CheckContext(stage="output", prompt=prompt, context=CONTEXT)))

    assert answer("moon cheese", prompt="").detections == ()  # two words, no question: nothing asserted
    # The tiny pair model scores the share of hypothesis words found in the chunk, question words included.
    assert answer("Paris", prompt="Which capital?").detections == ()
    (finding,) = answer("moon cheese", prompt="Which capital?").detections
    assert (finding.category, finding.spans) == ("hallucination", (Span(0, 11),))
    silent = build(models, model="nli", top_k=1, question_words=0)
    judged = asyncio.run(silent.check("moon cheese", CheckContext(stage="output", prompt="capital?", context=CONTEXT)))
    assert judged.detections == ()


def test_nli_finds_support_in_any_chunk(models):
    guardrail = build(models, model="nli", premise_words=8, top_k=1)
    result = check(guardrail, "The river flows through the city. Paris is the capital of France.")
    assert result.detections == ()
    assert result.score < 0.1


def test_the_label_mapping_decides_which_column_means_supported(models):
    # Reading the wrong column turns a well-supported answer into a hallucination.
    guardrail = build(models, model="nli", supported_label="unsupported", top_k=1)
    result = check(guardrail, "Paris is the capital of France.")
    assert [d.category for d in result.detections] == ["hallucination"]


def test_grounding_mode_scores_claims_by_cosine_to_the_best_chunk(models):
    guardrail = build(models, model="emb", threshold=0.5)
    result = check(guardrail, "The river flows through the city. London people made moon cheese.")
    (finding,) = result.detections
    assert finding.spans == (Span(34, 65),)
    assert finding.score == 1.0


def test_numbers_are_checked_without_any_model():
    config = HallucinationConfig(name="h", type="hallucination")
    guardrail = config.build(BuildEnv())
    assert guardrail.cost == "cheap"
    result = check(guardrail, "The tower was completed in 1887.")
    (finding,) = result.detections
    assert (finding.category, finding.spans) == ("unsupported_number", (Span(27, 31),))


@pytest.mark.parametrize("context", [(), ("",), ("   ",)])
def test_without_context_it_allows_or_says_it_cannot_judge(models, context):
    answer = "London people made moon cheese in 1887."
    assert check(build(models, model="nli"), answer, context) == CLEAN
    with pytest.raises(GuardrailFailure, match=NO_CONTEXT):
        check(build(models, model="nli", without_context="error"), answer, context)


def test_a_config_with_nothing_to_check_is_rejected():
    with pytest.raises(ValueError, match="nothing to check"):
        HallucinationConfig(name="h", type="hallucination", numbers=False).build(BuildEnv())


def test_it_runs_only_on_output():
    assert HallucinationConfig.stages == frozenset({"output"})


def test_combine_mixes_the_model_with_word_overlap_per_claim(models):
    # "The tower was built by giants" overlaps the context less than the supported sentence does.
    answer = "The Eiffel Tower was completed in 1889. The tower was built by giants from the moon."
    alone = check(build(models, model="nli", top_k=1, numbers=False), answer)
    mixed = check(build(models, model="nli", top_k=1, numbers=False, combine={"model": 1.0, "overlap": -6.0}), answer)
    lifted = check(build(models, model="nli", top_k=1, numbers=False, combine={"model": 1.0, "overlap": 8.0}), answer)
    assert mixed.score > alone.score > lifted.score  # overlap weighs in, in either direction
    assert Premises.of(CONTEXT, 64, 256).overlap("Eiffel Tower completed 1889") == 1.0
    assert Premises.of(CONTEXT, 64, 256).overlap("giants from the moon") == 0.0


def test_combine_rejects_unknown_fields_and_weights_out_of_range():
    with pytest.raises(ValueError, match="Extra inputs"):
        HallucinationConfig.model_validate({"name": "h", "type": "hallucination", "combine": {"mdoel": 1}})
    with pytest.raises(ValueError, match="less than or equal to 20"):
        HallucinationConfig.model_validate({"name": "h", "type": "hallucination", "combine": {"overlap": 99}})
