"""Several platforms in one dataset: a row per (architecture, platform), for cross-platform training.

LeDG-Former learns latency across hardware by reading each platform's text (its platform token), so
one model trained on several devices can predict a device it never saw from that device's
description alone (zero-shot). :func:`stack_settings` turns a dataset with one latency column per
device setting (``nb201-latency``: ``latency_1080ti_b1``, ...) into such a stacked dataset:

* one row per architecture and setting (settings in the order given, architectures in dataset
  order within each), rows without a measurement dropped; keys repeat, once per platform;
* target :data:`TARGET` (the latency of that row's setting, ms) and the cost columns copied
  per row (``flops``, ``params`` and the like, any target that is not a latency/energy column);
* target :data:`PLATFORM_COLUMN`: the row's index into ``meta["platform_texts"]``, the platform
  texts (:func:`archrep.latency.devices.setting_template` of each setting), and
  ``meta["platform_settings"]`` the setting ids; :data:`SETTING_COLUMN` the row's index into these.
  :func:`stack_columns` is the general form (the zoo measured here stacks its platforms with
  texts that carry each row's batch). The index is a float column so that
  :meth:`ArchDataset.subset` keeps it aligned with the rows.

:func:`row_platforms` reads the per-row texts back; predictors without a platform input just see
more rows (FLOPs-linear fitted on them is a pooled, device-agnostic fit).
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from archrep.data.dataset import ArchDataset
from archrep.errors import ArchrepError
from archrep.latency.devices import setting_template

TARGET = "latency"
PLATFORM_COLUMN = "platform_id"
SETTING_COLUMN = "setting_index"
TEXTS_META = "platform_texts"


def stack_columns(ds: ArchDataset, columns: Sequence[str], row_texts: Callable[[int, np.ndarray], Sequence[str]],
                  name: str, meta: dict | None = None) -> ArchDataset:
    """``ds``'s latency ``columns`` stacked as rows (module docstring): one row per architecture and
    column where it has a value, column-major; ``row_texts(i, rows)`` gives the platform text of
    each row of column i (``rows``: their indices into ``ds``). Distinct texts, in first-seen order,
    become ``meta["platform_texts"]``; :data:`SETTING_COLUMN` holds each row's column index. The
    other columns that are not among ``columns`` (costs, families) are copied per row."""
    columns = list(columns)
    rows = [np.flatnonzero(~np.isnan(ds.targets[c])) for c in columns]
    idx = np.concatenate(rows)
    texts: dict[str, int] = {}
    pid = np.array([texts.setdefault(t, len(texts)) for i, r in enumerate(rows) for t in row_texts(i, r)], dtype=float)
    skip = set(columns) | set((meta or {}).get("unstacked", ()))
    costs = [t for t in ds.targets if t not in skip and t not in (PLATFORM_COLUMN, SETTING_COLUMN)]
    targets = {TARGET: np.concatenate([ds.targets[c][r] for c, r in zip(columns, rows)]),
               SETTING_COLUMN: np.concatenate([np.full(len(r), float(i)) for i, r in enumerate(rows)]),
               PLATFORM_COLUMN: pid, **{t: ds.targets[t][idx] for t in costs}}
    info = {TARGET: "latency (ms) of the row's platform", SETTING_COLUMN: "index into meta['platform_settings']",
            PLATFORM_COLUMN: f"index into meta[{TEXTS_META!r}]", **{t: ds.target_info.get(t, "") for t in costs}}
    meta = {k: v for k, v in (meta or {}).items() if k != "unstacked"}
    meta.update({"stacked_from": ds.name, TEXTS_META: list(texts)})
    rows_ds = ds.subset(idx)  # graphs (and node features, if any) of every row
    return dataclasses.replace(rows_ds, name=name, targets=targets, target_info=info, default_target=TARGET, meta=meta)


def stack_settings(ds: ArchDataset, settings: Sequence[str], name: str | None = None) -> ArchDataset:
    """``ds``'s latency on each of ``settings`` stacked as rows (module docstring), read from the
    ``latency_<setting>`` columns (HW-NAS-Bench-360's per-task columns are not stacked). A setting
    without such a column is an error listing the dataset's settings."""
    settings = list(dict.fromkeys(settings))
    if not settings:
        raise ArchrepError("stack_settings needs at least one device setting")
    known = dict(ds.meta.get("settings") or {})
    column = {s: t for t, s in known.items() if t == f"latency_{s}"}
    missing = [s for s in settings if s not in column]
    if missing:
        raise ArchrepError(f"dataset {ds.name!r} has no latency for setting(s) {', '.join(missing)}; its settings: "
                           f"{', '.join(sorted(column)) or 'none'}")
    templates = [setting_template(s) for s in settings]
    return stack_columns(ds, [column[s] for s in settings], lambda i, rows: [templates[i]] * len(rows),
                         name or f"{ds.name}[{'+'.join(settings)}]",
                         {"platform_settings": settings, "unstacked": list(known)})


def row_platforms(ds: ArchDataset) -> list[str] | None:
    """The platform text of each row of a stacked dataset, or None for a dataset that is not one."""
    texts = ds.meta.get(TEXTS_META)
    if texts is None or PLATFORM_COLUMN not in ds.targets:
        return None
    pid = ds.targets[PLATFORM_COLUMN]
    if np.isnan(pid).any() or (pid < 0).any() or (pid >= len(texts)).any():
        raise ArchrepError(f"dataset {ds.name!r}: {PLATFORM_COLUMN!r} must index meta[{TEXTS_META!r}] "
                           f"({len(texts)} texts) on every row")
    return [texts[int(k)] for k in pid]


__all__ = ["TARGET", "PLATFORM_COLUMN", "SETTING_COLUMN", "TEXTS_META", "stack_columns", "stack_settings",
           "row_platforms"]
