"""Strings from a regex: the one regex sampler (on the private re._parser, Python 3.11+)."""

from __future__ import annotations

import re
import re._constants as _sre
import re._parser as _sre_parse

from .schemas import GenerationError

_CATEGORY_CHARS = {
    _sre.CATEGORY_DIGIT: "0123456789",
    _sre.CATEGORY_SPACE: " \t",
    _sre.CATEGORY_WORD: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
}
_NOT_CATEGORY = {
    _sre.CATEGORY_NOT_DIGIT: _sre.CATEGORY_DIGIT,
    _sre.CATEGORY_NOT_SPACE: _sre.CATEGORY_SPACE,
    _sre.CATEGORY_NOT_WORD: _sre.CATEGORY_WORD,
}
_REGEX_ALPHABET = "".join(dict.fromkeys(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/@é"))
_PARSED: dict[str, object] = {}


def regex_string(src, pattern: str, exclude: str = "") -> str:
    """A string that `re.search(pattern)` accepts (and fullmatches the unanchored pattern)."""
    parsed = _PARSED.get(pattern)
    if parsed is None:
        parsed = _PARSED[pattern] = _sre_parse.parse(pattern)
    groups: dict = {}
    text = "".join(_emit(src, parsed, groups, exclude))
    if not re.search(pattern, text):
        raise GenerationError(f"pattern {pattern!r}: cannot generate a matching string "
                              "(lookarounds and backreferences are not supported)")
    return text


def _class_chars(items, exclude: str) -> tuple[str, bool]:
    """The characters of a [...] class (from the generation alphabet when negated)."""
    negate = False
    chars: list[str] = []
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            chars.append(chr(av))
        elif op is _sre.RANGE:
            lo, hi = av
            chars.extend(chr(c) for c in range(lo, min(hi, lo + 200) + 1))
        elif op is _sre.CATEGORY:
            if av in _CATEGORY_CHARS:
                chars.extend(_CATEGORY_CHARS[av])
            elif av in _NOT_CATEGORY:
                base = _CATEGORY_CHARS[_NOT_CATEGORY[av]]
                chars.extend(c for c in _REGEX_ALPHABET if c not in base)
        else:
            raise GenerationError(f"regex class item {op} is not supported")
    if negate:
        chars = [c for c in _REGEX_ALPHABET if c not in chars]
    chars = [c for c in dict.fromkeys(chars) if c not in exclude]
    if not chars:
        raise GenerationError("a regex character class with no usable character")
    return "".join(chars), negate


def _emit(src, parsed, groups, exclude):
    for op, av in parsed:
        if op is _sre.LITERAL:
            yield chr(av)
        elif op is _sre.NOT_LITERAL:
            yield src.choice([c for c in _REGEX_ALPHABET if ord(c) != av and c not in exclude])
        elif op is _sre.ANY:
            yield src.choice([c for c in _REGEX_ALPHABET if c not in exclude])
        elif op is _sre.IN:
            chars, _ = _class_chars(av, exclude)
            yield src.choice(chars)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 6 if hi is _sre.MAXREPEAT or hi > lo + 6 else hi
            for _ in range(src.integer(lo, hi)):
                yield from _emit(src, sub, groups, exclude)
        elif op is _sre.SUBPATTERN:
            group, _add, _del, sub = av
            text = "".join(_emit(src, sub, groups, exclude))
            if group is not None:
                groups[group] = text
            yield text
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            yield from _emit(src, av, groups, exclude)
        elif op is _sre.BRANCH:
            _, branches = av
            yield from _emit(src, src.choice(branches), groups, exclude)
        elif op is _sre.AT:
            continue
        elif op is _sre.GROUPREF:
            yield groups.get(av, "")
        else:
            raise GenerationError(f"regex operator {op} is not supported")


