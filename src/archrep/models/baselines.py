"""Zero-learning baselines: rank architectures by a column of the dataset.

``params`` predicts the dataset's ``params`` column and ``flops`` its ``flops`` column, as
they are (a score for ranking, not the target's unit). ``fit`` only checks the column exists.
They are the bar every learnt predictor must clear: bigger networks are often more accurate.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.models import register_model
from archrep.models.base import Predictor


class ColumnBaseline(Predictor):
    """Predicts the values of the dataset column ``column`` (one of its targets)."""

    column: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}

    @classmethod
    def unsupported(cls, ds: ArchDataset) -> str | None:
        return cls._missing_columns(ds, [cls.column])

    def _values(self, ds: ArchDataset) -> np.ndarray:
        why = self.unsupported(ds)
        if why:
            raise ArchrepError(why)
        return ds.targets[self.column]

    def _fit(self, train, target, val):
        self._values(train)

    def _predict(self, ds):
        values = self._values(ds)
        missing = np.isnan(values)
        if missing.any():
            raise ArchrepError(f"dataset {ds.name!r} has no {self.column!r} value for {int(missing.sum())} of its "
                               f"{len(ds)} architectures; the {self.name!r} baseline cannot rank them "
                               f"(use ds.with_target({self.column!r}) first)")
        return values.astype(np.float64, copy=True)


@register_model("params")
class ParamsBaseline(ColumnBaseline):
    """Rank by parameter count (the dataset's ``params`` column)."""

    column = "params"


@register_model("flops")
class FlopsBaseline(ColumnBaseline):
    """Rank by FLOPs (the dataset's ``flops`` column)."""

    column = "flops"
