"""Read pickled benchmark files without executing code from them.

Pickles can run arbitrary code on load. Benchmark files (the nas-bench-graph ``.bench`` files,
analog-nasbench's ``data.anb``, the HW-NAS-Bench pickle) only hold containers, numbers and a few
known classes, so :func:`load` allows builtin containers and scalars, numpy arrays and scalars,
plus the classes a caller names explicitly (mapped to harmless stand-ins). Any other global is
refused with a :class:`DataError` that names it.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Mapping

from archrep.errors import DataError

_SAFE_BUILTINS = {
    "dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
    "bytearray", "bool", "slice", "range", "object",
}
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class Record:
    """Stand-in for an allowed foreign class: keeps the pickled state as attributes."""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["state"] = state

    def __repr__(self) -> str:
        return f"Record({self.__dict__!r})"


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, source: str, classes: Mapping[tuple[str, str], type]):
        super().__init__(file)
        self._source = source
        self._classes = classes

    def find_class(self, module: str, name: str):
        if (module, name) in self._classes:
            return self._classes[(module, name)]
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module in ("numpy", "numpy.dtypes") and name.endswith("DType"):
            return super().find_class(module, name)
        raise DataError(
            f"{self._source}: refused to unpickle '{module}.{name}': only plain data and the "
            "classes this format needs are allowed. If the file is trusted and a newer format "
            "needs this class, report it; never load untrusted pickles."
        )


def load(source: str | Path | bytes, classes: Mapping[tuple[str, str], type] | None = None) -> Any:
    """Unpickle ``source`` (a path or bytes), allowing only plain data and ``classes``.

    ``classes`` maps ``(module, name)`` of a class the format needs to the type to build instead
    (usually :class:`Record`).
    """
    if isinstance(source, (bytes, bytearray)):
        name, fh = "pickle data", io.BytesIO(source)
    else:
        name = str(source)
        try:
            fh = open(source, "rb")
        except OSError as exc:
            raise DataError(f"cannot read {name}: {exc.strerror}") from None
    with fh:
        try:
            return _RestrictedUnpickler(fh, name, classes or {}).load()
        except DataError:
            raise
        except Exception as exc:  # truncated or not a pickle at all
            raise DataError(f"{name} is not a readable pickle ({type(exc).__name__}: {exc})") from None
