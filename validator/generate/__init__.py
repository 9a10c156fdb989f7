"""The one generator of bus messages, driven by the catalogue (specs/events.yaml) and the
value data (specs/generation.yaml): examples, docs, publish, bench and the property tests.

- sources.py: choices from a seed (RandomSource) or from hypothesis (HypothesisSource);
- schemas.py: the one $ref resolver and schema navigation; regex.py: the one regex sampler;
- values.py: specs/generation.yaml (shapes, vocabularies, field hints, mixes);
- walker.py: the one schema walker, realistic or edge values;
- messages.py: valid messages and erratum shapes; faults.py: the one fault table;
- strategies.py: hypothesis strategies (imported by the tests only);
- traffic.py: bench traffic from a mix of specs/generation.yaml.
"""

import importlib

# Loaded on first use, so that a command that only names GenerationError (or check, which
# generates nothing) does not pay for the generator's imports at start-up.
_WHERE = {
    "FAULTS": "faults", "MUTATIONS": "faults", "Fault": "faults", "Generator": "messages",
    "Example": "model", "Mutant": "model", "Target": "model", "regex_string": "regex",
    "GenerationError": "schemas", "Schemas": "schemas", "parse_json_path": "schemas",
    "HypothesisSource": "sources", "RandomSource": "sources",
    "GenerationDataError": "values", "generation_data": "values",
    "EDGE": "modes", "MODES": "modes", "REALISTIC": "modes",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
