"""A name -> factory registry, shared by datasets, search spaces, predictors and proxies.

Unknown names raise :class:`UnknownNameError` listing the valid names (and the closest match),
in the style of PyG's resolvers and timm's ``register_model``.
"""
from __future__ import annotations

import difflib
import fnmatch
from typing import Callable, Generic, Iterator, TypeVar

from archrep.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories. ``kind`` is used in error messages ("dataset", "model", ...)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("gin")`` above a class or function."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` without a decorator."""
        self.register(name)(obj)

    def get(self, name: str) -> T:
        """The factory registered under ``name``; unknown names list the valid ones."""
        try:
            return self._items[name]
        except KeyError:
            valid = sorted(self._items)
            close = difflib.get_close_matches(str(name), valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}.{hint} Valid {_plural(self.kind)}: {', '.join(valid)}"
            ) from None

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style pattern, sorted (``names("*gin*")``)."""
        return sorted(n for n in self._items if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)


def _plural(noun: str) -> str:
    """'model' -> 'models', 'search strategy' -> 'search strategies'."""
    return noun[:-1] + "ies" if noun.endswith("y") and noun[-2:-1] not in "aeiou" else noun + "s"
