"""Sources of choices for the one walker: a seed (random.Random) or a hypothesis draw."""

from __future__ import annotations

import random

class RandomSource:
    """Choices from a random.Random: the same seed, the same bytes, in any process."""

    def __init__(self, seed=0):
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def boolean(self) -> bool:
        return self.rng.random() < 0.5

    def choice(self, seq):
        seq = list(seq)
        return seq[self.rng.randrange(len(seq))]

    def text(self, alphabet: str, lo: int, hi: int) -> str:
        n = self.rng.randint(lo, hi)
        return "".join(alphabet[self.rng.randrange(len(alphabet))] for _ in range(n))

    def bits(self, n: int) -> int:
        return self.rng.getrandbits(n)


def _st():
    # hypothesis is imported only by the strategies: the CLI's generators do not need it.
    from hypothesis import strategies
    return strategies


class HypothesisSource:
    """Choices drawn by hypothesis: the messages shrink."""

    def __init__(self, draw):
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(_st().integers(lo, hi))

    def boolean(self) -> bool:
        return self.draw(_st().booleans())

    def choice(self, seq):
        return self.draw(_st().sampled_from(list(seq)))

    def text(self, alphabet: str, lo: int, hi: int) -> str:
        return self.draw(_st().text(alphabet=alphabet, min_size=lo, max_size=hi))

    def bits(self, n: int) -> int:
        return self.draw(_st().integers(0, 2 ** n - 1))

