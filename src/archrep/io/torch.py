"""Read a PyTorch module into an ArchGraph by exporting it to ONNX in memory (see :mod:`archrep.io.onnx`)."""
from __future__ import annotations

import io
import warnings
from typing import Any

from archrep.errors import MissingDependencyError, ModelImportError
from archrep.graph import ArchGraph
from archrep.io.onnx import _onnx, from_onnx

#: keyword arguments given to ``torch.onnx.export`` unless the caller overrides them. The
#: TorchScript exporter (``dynamo=False``) is 10-40x faster than the dynamo one and, with
#: ``training=PRESERVE`` on a module in eval mode, fuses nothing (BatchNormalization stays a node).
#: With ``dynamo=True`` only the caller's keywords are passed (its optimizer folds BatchNorm
#: into Conv unless ``optimize=False``).
DEFAULT_EXPORT_KW: dict[str, Any] = {"dynamo": False, "opset_version": 17, "do_constant_folding": True}
# the TorchScript exporter announces its deprecation on every call, and warns about constant
# folding with training=PRESERVE even though the module is in eval mode
_QUIET = (r".*legacy TorchScript-based ONNX export.*", r".*The feature will be removed.*",
          r".*constant folding be turned off.*")


def export_onnx(module, example_input, **export_kw) -> bytes:
    """The serialised ONNX model of ``module`` run on ``example_input`` (a tensor or a tuple).

    The module is exported in eval mode (its train/eval flags are restored afterwards) with
    :data:`DEFAULT_EXPORT_KW` updated by ``export_kw`` (e.g. ``dynamo=True``). The bytes are what
    :func:`from_torch` reads, and what a profiler should run, so graph and measurement agree.
    """
    import torch

    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    if export_kw.get("dynamo", DEFAULT_EXPORT_KW["dynamo"]):
        kw = {"verbose": False, **export_kw}
    else:
        kw = {**DEFAULT_EXPORT_KW, "training": torch.onnx.TrainingMode.PRESERVE, **export_kw}
    flags = {m: m.training for m in module.modules()}
    module.eval()
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            for pattern in _QUIET:
                warnings.filterwarnings("ignore", message=pattern)
            with torch.no_grad():
                if kw.get("dynamo"):
                    return torch.onnx.export(module, args, **kw).model_proto.SerializeToString()
                torch.onnx.export(module, args, buffer, **kw)
                return buffer.getvalue()
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(f"torch.onnx.export needs the {exc.name!r} package here: pip install "
                                     f"{exc.name} (the dynamo=True exporter needs onnxscript; dynamo=False, "
                                     "the default, does not)") from exc
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelImportError(f"torch.onnx.export of {type(module).__name__} failed ({type(exc).__name__}: "
                               f"{first}); check that the module runs on example_input and uses "
                               "ONNX-exportable ops") from exc
    finally:
        for m, flag in flags.items():
            m.training = flag


def from_torch(module, example_input, *, fold_bn: bool = False, **export_kw) -> ArchGraph:
    """The ArchGraph of ``module`` run on ``example_input``: :func:`export_onnx` (in memory) then
    :func:`~archrep.io.onnx.from_onnx`. The batch is the example input's leading dimension;
    ``fold_bn`` folds BatchNormalization into the preceding Conv (see ``from_onnx``)."""
    _onnx()  # a clear error before exporting when onnx is missing
    return from_onnx(export_onnx(module, example_input, **export_kw), fold_bn=fold_bn)
