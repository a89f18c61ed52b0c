import pytest

from guardd.guardrails.base import Span, merge_spans


@pytest.mark.parametrize(
    ("spans", "merged"),
    [
        ([], ()),
        ([Span(0, 19), Span(0, 32)], (Span(0, 32),)),
        ([Span(5, 9), Span(0, 3)], (Span(0, 3), Span(5, 9))),
        ([Span(0, 5), Span(5, 9)], (Span(0, 5), Span(5, 9))),  # touching is not overlapping
        ([Span(0, 10), Span(2, 4), Span(8, 12)], (Span(0, 12),)),
    ],
)
def test_merge_spans(spans, merged):
    assert merge_spans(spans) == merged
