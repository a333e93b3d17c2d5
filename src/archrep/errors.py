"""Exception types. Every error archrep raises on bad input is an ArchrepError subclass whose
message names the input and says how to fix it."""


class ArchrepError(Exception):
    """Base class of every error archrep raises on purpose."""


class GraphError(ArchrepError, ValueError):
    """An architecture graph is malformed (cycle, self-loop, unknown op, dead node, ...)."""


class UnknownNameError(ArchrepError, KeyError):
    """A registry lookup failed; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class DataError(ArchrepError):
    """A data file is missing, malformed, or refused (e.g. an unsafe pickle)."""


class ModelImportError(ArchrepError, ValueError):
    """A real model (ONNX file, torch module) cannot be read: malformed, or uses an unsupported op."""


class MissingDependencyError(ArchrepError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""
