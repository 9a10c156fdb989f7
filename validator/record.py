"""A light base for records: classes of __slots__ compared, hashed and shown by their fields."""

from __future__ import annotations


class Record:
    """What a frozen dataclass gives (==, hash and repr by fields, _replace) to a class of
    __slots__ with its own __init__: ~0.1 M instructions to define, where a dataclass cost
    ~3.5 M and a NamedTuple ~0.9 M, and its fields are read at slot speed (a NamedTuple's
    are not specialized by 3.11: ~+1,000 instructions a message, measured). Not enforced
    frozen: nothing changes one once made."""

    __slots__ = ()

    def _fields(self) -> tuple:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self):
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in self.__slots__)})"

    def _replace(self, **changes):
        values = dict(zip(self.__slots__, self._fields()), **changes)
        return type(self)(**values)


class MutableRecord(Record):
    """A Record whose fields may be set after it is made (as a plain dataclass's): not
    hashable."""

    __slots__ = ()
    __hash__ = None
