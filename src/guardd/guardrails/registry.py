"""Policy ``type:`` → the config class that parses and builds that guardrail.

An explicit, immutable table: no registration on import, no dispatch by class
name. Adding a guardrail is one new module plus one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from guardd.guardrails.base import GuardrailConfig
from guardd.guardrails.hallucination import HallucinationConfig
from guardd.guardrails.injection import InjectionConfig
from guardd.guardrails.length import LengthConfig
from guardd.guardrails.pattern import PatternConfig
from guardd.guardrails.pii import PiiConfig
from guardd.guardrails.refusal import RefusalConfig
from guardd.guardrails.schema import SchemaConfig

Registry = Mapping[str, type[GuardrailConfig]]

BUILTIN: Registry = MappingProxyType(
    {
        "hallucination": HallucinationConfig,
        "injection": InjectionConfig,
        "length": LengthConfig,
        "pattern": PatternConfig,
        "pii": PiiConfig,
        "refusal": RefusalConfig,
        "schema": SchemaConfig,
    }
)
