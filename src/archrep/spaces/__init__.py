"""Search spaces behind one registry: ``spaces.get("nb201")`` returns a SearchSpace instance."""
from __future__ import annotations

from archrep.registry import Registry
from archrep.spaces.base import SearchSpace

SPACES: Registry = Registry("search space")
register_space = SPACES.register


def get(name: str, **kwargs) -> SearchSpace:
    """An instance of the space registered as ``name``; unknown names list the valid ones."""
    return SPACES.get(name)(**kwargs)


def list_spaces(pattern: str = "*") -> list[str]:
    return SPACES.names(pattern)


# built-in spaces register themselves on import
from archrep.spaces import nb201  # noqa: E402,F401
from archrep.spaces import darts, macro, nb101  # noqa: E402,F401
from archrep.spaces import nbgraph  # noqa: E402,F401
from archrep.spaces import fbnet, ofa  # noqa: E402,F401
from archrep.spaces import vit  # noqa: E402,F401

__all__ = ["SearchSpace", "SPACES", "register_space", "get", "list_spaces"]
