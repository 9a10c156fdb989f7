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

from .faults import FAULTS, MUTATIONS, Fault
from .messages import Generator
from .model import Example, Mutant, Target
from .regex import regex_string
from .schemas import GenerationError, Schemas, parse_json_path
from .sources import HypothesisSource, RandomSource
from .values import GenerationDataError, generation_data
from .walker import EDGE, MODES, REALISTIC

__all__ = [
    "EDGE", "Example", "FAULTS", "Fault", "GenerationDataError", "GenerationError",
    "Generator", "HypothesisSource", "MODES", "MUTATIONS", "Mutant", "REALISTIC",
    "RandomSource", "Schemas", "Target", "generation_data", "parse_json_path", "regex_string",
]
