"""Built-in prompt-injection phrase rules, matched against normalised text.

Patterns see text that ``guardd.text.normalize`` has already lower-cased,
NFKC-folded, stripped of invisible characters and collapsed to single spaces,
so they are written in lower case with literal spaces. Trigger words go
through ``_leet`` so "1gn0re" matches "ignore" without folding digits in the
shared normalised text.

Weights are the probability-like strength of one hit on its own; the scorer
combines hits with noisy-OR. A weight under the default threshold (0.7) marks a
phrase that is suspicious but common in benign text: it only counts together
with another hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Family = Literal["instruction_override", "role_play", "prompt_extraction", "template_injection"]

FAMILIES: Final[tuple[Family, ...]] = (
    "instruction_override",
    "role_play",
    "prompt_extraction",
    "template_injection",
)
FAMILY_MESSAGES: Final[dict[str, str]] = {
    "instruction_override": "instruction override",
    "role_play": "role-play jailbreak",
    "prompt_extraction": "system prompt extraction",
    "template_injection": "delimiter or chat-template injection",
    "custom": "custom phrase",
}


@dataclass(frozen=True, slots=True)
class PhraseRule:
    """One regular expression over normalised text, its family and weight."""

    family: str
    pattern: str
    weight: float


_LEET = {"a": "[a4@]", "e": "[e3]", "i": "[i1!|]", "o": "[o0]", "s": "[s5$]", "t": "[t7]"}


def _leet(word: str) -> str:
    return "".join(_LEET.get(ch, ch) for ch in word)


def _any(*words: str) -> str:
    return "(?:" + "|".join(_leet(w) for w in words) + ")"


_B = r"\b"
_FILL = r"(?:[^ ]+ ){0,3}"  # a few filler words: "all of the", "your very"
_OVERRIDE_VERB = _any(
    "ignore", "ignoring", "disregard", "forget", "override", "bypass", "overlook", "discard", "abandon",
    "skip", "neglect", "set aside", "throw away", "pay no attention to", "do not follow",
    "don't follow", "stop following", "do not obey", "don't obey",
)  # fmt: skip
_EARLIER = _any(
    "previous", "prior", "above", "earlier", "preceding", "former", "original", "initial", "old",
    "system", "foregoing", "existing", "current", "given", "provided", "above-mentioned",
)  # fmt: skip
_RULES = _any(
    "instructions", "instruction", "directions", "directives", "rules", "guidelines", "prompts",
    "prompt", "commands", "orders", "context", "constraints", "restrictions", "programming", "tasks",
    "task", "messages", "information", "conversation", "text", "input",
)  # fmt: skip
_EVERYTHING_BEFORE = r"(?:everything|all|anything|what) ?(?:(?:that )?(?:i|you|we) (?:said|told you|discussed|were told|have been told)|before|above|prior|previous|so far|until now|that came before|up to now)"
_DUMP_VERB = _any(
    "repeat", "print", "reveal", "show", "display", "output", "tell me", "give me", "write out",
    "write down", "list", "dump", "leak", "share", "disclose", "spell out", "recite", "echo",
    "type out", "copy", "paste", "return", "provide", "expose",
)  # fmt: skip
_PROMPT_NOUN = r"(?:prompt|instructions|directives|rules|guidelines|configuration|system message|initiali[sz]ation)"
_HIDDEN = r"(?:system|initial|original|hidden|secret|internal|developer|pre-?|full|complete|exact|first|confidential)"
_NO_LIMITS = r"(?:without|with no|free of|free from|not bound by|unbound by|no|zero|ignoring) (?:any |all |the |your )?(?:[^ ]+ )?(?:restrictions|limits|limitations|rules|filters|filtering|censorship|guidelines|ethics|morals|morality|boundaries|constraints|policies|safeguards)"

INSTRUCTION_OVERRIDE: Final[tuple[PhraseRule, ...]] = tuple(
    PhraseRule("instruction_override", p, w)
    for p, w in (
        # "ignore all previous instructions", "disregard the system prompt"
        (rf"{_B}{_OVERRIDE_VERB} (?:about )?{_FILL}{_EARLIER} {_FILL}{_RULES}{_B}", 0.9),
        # "ignore the above and ...", "ignore all of the previous"
        (
            rf"{_B}{_OVERRIDE_VERB} (?:all |everything )?(?:of )?(?:the |what(?:'s| is| was) )?(?:above|previous|prior|preceding|foregoing){_B}",
            0.85,
        ),
        # "forget everything before that", "ignore all that you were told"
        (rf"{_B}{_OVERRIDE_VERB} (?:about )?{_EVERYTHING_BEFORE}", 0.85),
        (rf"{_B}{_any('forget', 'ignore', 'disregard')} (?:about )?(?:everything|all that){_B}", 0.55),
        (
            rf"{_B}{_any('forget', 'ignore', 'disregard')} (?:about )?(?:everything|all that)(?:,| and| then|\.)+ (?:just |now |instead )?(?:tell|say|write|print|output|answer|respond|reply|repeat|state)\b",
            0.8,
        ),
        # "ignore all instructions", "forget all tasks": no qualifier, but "all" is telling
        (rf"{_B}{_OVERRIDE_VERB} (?:all|any) (?:of )?(?:the |your |my )?{_RULES}{_B}", 0.75),
        # "ignore your instructions/rules/guidelines"
        (rf"{_B}{_OVERRIDE_VERB} (?:all |any )?(?:of )?your (?:[^ ]+ )?{_RULES}{_B}", 0.85),
        (r"\bnew (?:instructions|instruction|task|rules|directive|objective|goal|role) ?(?::|-|are|is)", 0.6),
        (r"\b(?:focus|concentrate) on (?:your|the|this) new (?:task|assignment|instructions?)\b", 0.75),
        (
            r"\b(?:the |all )?(?:above|previous|prior|preceding) (?:instructions|rules|prompt|information)\w* (?:[^ ]+ )?(?:are|were|is|was) (?:now )?(?:void|wrong|cancel+ed|obsolete|irrelevant|invalid|revoked|null|outdated|fake|a test)",
            0.85,
        ),
        (r"\b(?:admin|administrator|developer|system|sudo|root) override\b", 0.75),
        (
            rf"{_B}{_any('override', 'bypass', 'disable', 'turn off', 'deactivate', 'ignore')} (?:all |any )?(?:of )?your (?:[^ ]+ )?(?:safety|content|security|ethical|moderation) (?:filters?|guidelines|restrictions|policies|protocols|measures|settings|rules)",
            0.8,
        ),
        (
            r"\b(?:decode|decipher) (?:this|the following|it)\b.{0,40}\b(?:and|then) (?:follow|execute|obey|do what)",
            0.6,
        ),
        # German
        (
            r"\b(?:ignorier(?:e|en sie|t)?|vergiss|vergessen sie|vergesst|missachte(?:n sie)?|verwirf) (?:[^ ]+ ){0,3}(?:vorherigen|bisherigen|obigen|vorangegangenen|vorangehenden|vorhergehenden|vorigen|früheren|alten|ursprünglichen|deine|ihre) (?:[^ ]+ )?(?:anweisungen|instruktionen|befehle|regeln|aufgaben|informationen|vorgaben)",
            0.9,
        ),
        (
            r"\b(?:vergiss|vergessen sie|vergesst|ignoriere|ignorieren sie) (?:[^ ]+ )?alles,? (?:was )?(?:[^ ]+ )?(?:davor|zuvor|vorher|bisher|oben|gesagt|besprochen)",
            0.85,
        ),
        (r"\b(?:vergiss|vergessen sie|vergesst|ignoriere|ignorieren sie) alles\b", 0.55),
        (
            r"\b(?:alle|die) (?:bisherigen|vorherigen|obigen) (?:informationen|anweisungen|instruktionen)\b.{0,40}\b(?:irrelevant|ungültig|hinfällig|falsch)",
            0.85,
        ),
        (
            r"\b(?:vergiss|vergessen sie|vergesst|ignoriere|ignorieren sie|missachte) (?:alle|sämtliche|jegliche) (?:[^ ]+ )?(?:anweisungen|instruktionen|befehle|regeln|aufträge|aufgaben|vorgaben)\b",
            0.8,
        ),
        (r"\bneue (?:anweisung|anweisungen|aufgabe|instruktionen) ?:", 0.6),
        (r"\bkonzentriere dich (?:[^ ]+ )?auf (?:deine|die|diese) neue aufgabe\b", 0.75),
        # Spanish
        (
            r"\b(?:ignora|ignore|olvida|olvide|olvídate de|descarta|omite) (?:[^ ]+ ){0,2}(?:instrucciones|indicaciones|reglas|órdenes) (?:anteriores|previas|originales)",
            0.9,
        ),
        (r"\b(?:olvida|olvide|olvídate de|ignora) todo (?:lo )?(?:anterior|lo que|que|lo dicho)", 0.85),
        # French
        (
            r"\b(?:ignore[zr]?|oublie[zr]?|ne tiens pas compte de) (?:[^ ]+ ){0,2}(?:instructions|consignes|règles|directives)\b",
            0.85,
        ),
        (r"\b(?:oublie[zr]?|ignore[zr]?) tout (?:ce qui précède|ce que|avant)", 0.85),
    )
)

ROLE_PLAY: Final[tuple[PhraseRule, ...]] = tuple(
    PhraseRule("role_play", p, w)
    for p, w in (
        (r"\bdo anything now\b", 0.85),
        (r"\b(?:you are|you're|act as|be|become|pretend to be|as) (?:a |an |the )?dan\b", 0.85),
        (
            r"\b(?:dan|stan|dude|aim|evil|jailbreak|jailbroken|developer|dev|god|sudo|unrestricted|opposite|chaos|anarchy) mode\b",
            0.8,
        ),
        (
            r"\b(?:enable|activate|enter|switch to|turn on) (?:[^ ]+ )?(?:developer|dev|god|jailbreak|unrestricted|unfiltered|debug|admin) mode\b",
            0.85,
        ),
        (
            rf"\b(?:act|acting|behave|respond|answer|reply|pretend|roleplay|role-play|role play|play|speak|write) (?:[^ ]+ ){{0,8}}{_NO_LIMITS}",
            0.8,
        ),
        (
            r"\bpretend (?:that )?(?:you|u) (?:have|had|are|were) (?:no|not bound by|free of|without) (?:[^ ]+ )?(?:rules|restrictions|limits|filters|guidelines|ethics|morals|programming|boundaries)",
            0.85,
        ),
        (
            r"\b(?:you are|you're|you will be|u r) (?:now )?(?:free|freed|liberated|unshackled|released|exempt) (?:from|of) (?:[^ ]+ )?(?:your |the |all |any )?(?:[^ ]+ )?(?:rules|restrictions|limits|constraints|guidelines|programming|policies|shackles|chains)",
            0.85,
        ),
        (r"\bno longer (?:bound|restricted|constrained|limited|governed) by\b", 0.8),
        (
            r"\b(?:does|do|will|can|should|must) ?(?:n't|not) (?:have to )?(?:follow|abide by|obey|adhere to|comply with|care about) (?:any )?(?:of )?(?:the |your )?(?:openai|anthropic|content|usage|safety|ethical|moral)? ?(?:rules|policies|policy|guidelines|restrictions|principles)",
            0.75,
        ),
        (
            r"\b(?:unfiltered|amoral|uncensored|unrestricted|jailbroken)(?:,? and (?:unfiltered|amoral|uncensored|unrestricted|unethical|immoral))? (?:ai|chatbot|bot|assistant|model|language model|character|persona|version|llm)\b",
            0.6,
        ),
        # An assigned persona that is evil or unrestricted, not a story that mentions one.
        (
            r"\b(?:pretend (?:that )?(?:you are|you're|to be)|act as|acting as|you are now|imagine (?:that )?you are|role-?play as|play the role of|you will be) (?:a |an )?(?:evil|unrestricted|unfiltered|uncensored|rogue|malicious|amoral|unethical|immoral|jailbroken|unhinged) ",
            0.8,
        ),
        (r"\b(?:you )?(?:must|will|shall|should|can) never refuse\b", 0.6),
        (r"\bnever (?:refuses?|rejects?|declines?) (?:a |any )?(?:request|question|prompt)", 0.6),
        (r"\b(?:stay|remain|keep) in character\b", 0.45),
        (r"\bfrom now on,? (?:you|u) (?:are|will|must|shall|act|respond|answer)\b", 0.5),
        (r"\byou are now\b", 0.45),
        (
            r"\bhypothetical (?:[^ ]+ )?(?:with|where|in which) (?:there are )?no (?:rules|restrictions|laws|limits|ethics)\b",
            0.6,
        ),
        # German
        (r"\bdu bist (?:jetzt|nun|ab sofort) (?:ein|eine|der|die|kein|keine)?\b", 0.45),
        (
            r"\bohne (?:jegliche |alle |irgendwelche )?(?:einschränkungen|regeln|zensur|filter|grenzen|beschränkungen)\b",
            0.55,
        ),
    )
)

PROMPT_EXTRACTION: Final[tuple[PhraseRule, ...]] = tuple(
    PhraseRule("prompt_extraction", p, w)
    for p, w in (
        # "reveal your system prompt", "print your instructions verbatim"
        (
            rf"{_B}{_DUMP_VERB} (?:me |us )?(?:back )?(?:all |exactly |verbatim )?(?:of )?your (?:[^ ]+ )?{_PROMPT_NOUN}",
            0.75,
        ),
        # "repeat the system prompt", "show me the initial instructions"
        (
            rf"{_B}{_DUMP_VERB} (?:me |us )?(?:back )?(?:all |exactly |verbatim )?(?:of )?the {_HIDDEN} (?:[^ ]+ )?{_PROMPT_NOUN}",
            0.75,
        ),
        # "repeat the text above", "print everything before this"
        (
            rf"{_B}{_DUMP_VERB} (?:me |us )?(?:back )?(?:all |exactly )?(?:of )?(?:the |your )?(?:text|words|everything|content|messages?|lines|sentences|prompt texts?|conversation) (?:[^ ]+ )?(?:above|before this|before that|prior to this|preceding|from the beginning|so far verbatim|you were given)",
            0.75,
        ),
        (
            r"\b(?:show|showing|print|printing|reveal|revealing|display|displaying|list|output|give me|tell me) (?:me |us )?(?:all |every |each |of |your |the )*prompt[ -]?texts?\b",
            0.8,
        ),
        (
            r"\b(?:tell me |what )?(?:what )?(?:are|were|is) your (?:exact |original |initial |actual |real |current )?(?:instructions|system prompt|initial prompt|directives|system message)\b",
            0.7,
        ),
        (
            r"\b(?:what|which) (?:is|are|was|were) your (?:[^ ]+ )?(?:system|initial|original|hidden|secret|first|internal) (?:prompt|instructions|message|rules)",
            0.7,
        ),
        (
            r"\b(?:starting|beginning|begin|start) with ['\"]?you are (?:a |an )?(?:chatgpt|an ai|a large language model|a helpful)",
            0.7,
        ),
        (
            r"\b(?:everything|all|the text|the words) (?:written )?(?:above|before) (?:this|here) (?:verbatim|word for word)",
            0.7,
        ),
        # German / Spanish / French
        (
            r"\b(?:zeig|zeige|gib|nenne|wiederhole|verrate|drucke)(?: mir| uns)? (?:deinen|deine|den|die|alle) (?:system-?|ursprünglichen |geheimen )?(?:prompt|prompts|anweisungen|instruktionen|prompt-texte)\b",
            0.7,
        ),
        (
            r"\b(?:muestra|revela|repite|dime)(?:me)? (?:tu|tus|el|las) (?:prompt|instrucciones) (?:del sistema|iniciales|originales)",
            0.7,
        ),
        (
            r"\b(?:montre|révèle|répète|affiche)(?:[- ]moi)? (?:ton|tes|vos|votre|le|les) (?:prompt|instructions|consignes) (?:système|initiales|initial)",
            0.7,
        ),
    )
)

TEMPLATE_INJECTION: Final[tuple[PhraseRule, ...]] = tuple(
    PhraseRule("template_injection", p, w)
    for p, w in (
        (r"<\|[a-z_]{2,30}\|>", 0.85),  # <|im_start|>, <|system|>, <|eot_id|>, <|endoftext|>
        (r"\[/?inst\]", 0.8),
        (r"<</?sys>>", 0.85),
        (r"</s> ?<s>|</s> ?\[inst\]", 0.85),
        (r"</s>", 0.35),
        (
            r"(?:^|[^#])#{2,4} ?(?:system|instruction|instructions|new instructions|assistant|human|response|admin)(?: message| prompt)? ?:",
            0.7,
        ),
        (r"\[(?:system|admin|developer|sys)(?: message| note| override| prompt| instruction)?\] ?:?", 0.6),
        (
            r"\bend of (?:the )?(?:context|document|input|prompt|user input|system prompt|conversation|instructions|data)\b",
            0.5,
        ),
        (r"-{3,} ?(?:end|begin|start) (?:of )?(?:system|instructions|prompt|context)", 0.6),
        (r"</?(?:system|sys|system_prompt|admin|instructions?)>", 0.4),
        (r"\b(?:system|sys) ?(?:message|prompt|note|override|update) ?: ?(?:you|from now|ignore|new|the user)", 0.65),
        (r"\b(?:assistant|ai|model): (?:sure|okay|of course)[,!.]? (?:here|i will|i'll)", 0.6),
    )
)

BUILTIN_RULES: Final[tuple[PhraseRule, ...]] = INSTRUCTION_OVERRIDE + ROLE_PLAY + PROMPT_EXTRACTION + TEMPLATE_INJECTION
