"""The generator's two modes of values (docs/generation.md)."""

REALISTIC = "realistic"  # what a 17.08 bus carries: for examples, docs, publish and bench
EDGE = "edge"            # the corners a schema allows: for the property tests
MODES = (REALISTIC, EDGE)
