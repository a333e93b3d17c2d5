"""Latency prediction on real devices and on the model zoo measured here -> benchmarks/results/latency_prediction.json.

Real devices (protocols ``zero-shot-device``, ``few-shot-device``, ``cross-space``; the default):
``nb201-latency`` (HELP's 27 NB201 device settings; ``--data-dir`` / ``ARCHREP_DATA_DIR``).
For each held-out device D (all its batch sizes), the other devices' settings are "seen":

* ``zero-shot-device``: nothing of D is measured.
  - ``ledg``: LeDG-Former trained on the seen settings stacked as rows
    (:func:`archrep.latency.stacked.stack_settings`), each row's platform token the text of its
    device from public specifications; it predicts D from D's text alone. MSE on log latency
    (``log_target``), ``--train-per-setting`` architectures per seen setting.
  - ``flops-linear`` (variant ``spec-transfer``): FLOPs-linear transfer. A FLOPs power law
    (log latency = a log FLOPs + b) is fitted on each seen setting; D gets the mean slope a and an
    intercept b regressed over the seen settings on (1, log10 peak TFLOPS, log10 batch) of their
    hardware, i.e. a FLOPs model rescaled to D by its specifications.
  - ``nearest-device``: the measured latencies of the seen setting nearest to D's setting by
    :func:`archrep.latency.devices.spec_distance` (same batch favoured), as they are.
* ``few-shot-device`` (HELP's setting), k = 10 and 50 measured architectures of each of D's
  settings (``train_size`` = k): ``flops-linear`` (power law fitted on the k), ``kernel-additive``
  (per-op latencies, ``position=False``, NNLS on the k), and the zero-shot predictors above
  calibrated on the k (variant ``calibrated``: log latency = a log(zero-shot prediction) + b,
  least squares), ``ledg`` and ``nearest-device``.
* ``cross-space``: ``flops-linear`` (power law) fitted per setting on NB201 + FBNet, tested on the
  OFA subnets of the same setting (the settings the three files share); ``ledg`` fitted on
  ``--train-per-setting`` archs of each of NB201 and FBNet on all those settings stacked (each
  row's setting text as its platform token), tested zero-shot on ``--test-archs`` OFA subnets.

Metrics on test architectures disjoint from every training/support architecture, per setting of
D: MAPE and Acc(10%) (fractions), Spearman and Kendall tau; mean ± std over seeds (``runs``)
and the best seed. One record per (protocol, method, variant, setting); ``target`` is
``latency_<setting>``, ``device`` the held-out device, ``platform`` its text. Each finished
(device, method) cell is written at once; ``--resume`` skips cells already in the file for the
same seeds.

Model zoo (protocols ``in-domain`` and ``leave-family-out``, NNLQP's Tables 1-2): the
``zoo-latency`` dataset (the package file, or ``--zoo-file`` = any ``archrep latency-dataset
export`` file), one latency target per platform measured here. Protocols are
:mod:`archrep.data.splits` objects over the rows' families: ``in-domain`` holds out a seeded 10 %
of every family and trains one predictor on the rest of all of them; ``leave-family-out`` trains
on every family but one and tests on all of that one (one fold per family). Methods:
``flops-linear`` and ``flops-macs-linear`` (power laws: least squares in logs, which suits MAPE),
``kernel-additive`` (nn-Meter's per-kernel cost model: each op kind's latency linear in the node's
FLOPs and memory traffic, ``kernel_costs=True``, fitted on relative errors, ``relative=True``;
``position=False``: positions mean nothing across zoo graphs), ``kernel-gbdt`` (ours: boosted trees
on the same per-kernel counts and costs and the cost columns, on log latency,
:mod:`archrep.models.kernel_gbdt`), ``gin``, ``tart`` (its ``archrep`` variant) and ``ledg``, all torch ones with MSE on log
latency and size-bucketed batches (``size_buckets``: zoo graphs have 20 to 600 nodes); every method but ``ledg`` fits one model per platform, ``ledg`` one model over all
platforms stacked as rows with each row's platform text as its platform token
(:func:`archrep.data.zoo_latency.stack_platforms`). ``--zoo-variants default,static`` also runs
the torch methods with our ``static`` variant: NNLQP's static features (batch, FLOPs, memory
traffic, parameters) as graph-level inputs (:data:`ZOO_VARIANTS`); ``pooled`` runs
``kernel-additive`` also with shared kernels and a ridge (``pooled=True, ridge=1e-3``, ours,
:mod:`archrep.models.latency`), which keeps a kernel rare in training from extrapolating on a
held-out family (the default: MAPE 11,711 % on the efficientnet fold of ort fp32 t1); ``additive`` runs ``gin``,
``tart`` and ``ledg`` also with our sum-of-per-node-latencies readout (``readout="logsumexp"``, TART's
``pooling="logsumexp"``); ``residual`` runs them as corrections of kernel-additive (pooled): the
network learns log(latency / the cost model's prediction) (``prior``, ours). MAPE and Acc(10%) per test family and
``family="all"`` (the average over families), mean ± std over seeds (``runs``) and the best seed.
One record per (protocol, method, family, platform); ``setting`` is the platform id, ``platform``
its text; a ``ledg`` record names the platforms its fit stacked (``train_platforms``).

Model zoo across platforms (``zero-shot-platform``, ``few-shot-platform``): each platform P in turn is
held out; the in-domain split (same seeds, same cap) gives the training architectures, measured
on the other platforms only, and the test architectures, scored on P (only models measured on
every platform are used, so every fold tests the same models). ``--hold-out machine`` holds out
P's whole machine instead (:attr:`archrep.latency.platform.Platform.machine_id`): the fits see
only the platforms of other machines (their records carry ``held_out_by`` and
``train_platforms``), which is zero-shot to unseen hardware rather than to an unseen setting of
seen hardware.

* ``zero-shot-platform`` (zero-shot): ``ledg`` fitted on the seen platforms stacked, predicting P from
  P's text alone; ``flops-linear`` (variant ``transfer``): one power law fitted on all seen
  platforms' measurements pooled; ``nearest-platform``: the measured latencies of the seen
  platform nearest to P by :meth:`archrep.latency.platform.Platform.distance`.
* ``few-shot-platform``: k = 10 and 50 training architectures measured on P (``train_size`` = k):
  ``flops-linear`` and ``kernel-additive`` fitted on the k, and ``ledg`` / ``nearest-platform``
  calibrated on them (variant ``calibrated``, as for the devices).
* ``--zoo-variants`` runs ``ledg`` once per variant here too: ``static`` zero-shot, and
  ``calibrated-static`` few-shot; ``pooled`` adds few-shot ``kernel-additive`` (pooled).

Records also carry ``held_out_platform``, ``seen_platforms`` and ``nearest_platform``. CPU-scaled defaults: ``--train-per-family 100`` (a seeded cap on each family's training
architectures; 0 = all, NNLQP's 1,800), epochs gin 100, tart and ledg 30 (``--zoo-epochs`` sets all), ledg in batches of 16; each (protocol, method) cell is
written when done and ``--resume`` skips the ones already in the file for the same seeds. Per-seed
results stay in ``benchmarks/results/.latency_prediction.seeds.json`` (not committed), so adding seeds
to a cell on the same machine trains only the new seeds.

    python benchmarks/latency_prediction.py --quick          # 1 seed, 3 devices, small: a smoke run
    python benchmarks/latency_prediction.py --devices titan_rtx,gold_6226 --seeds 5 --resume
    python benchmarks/latency_prediction.py --protocols in-domain,leave-family-out --seeds 5 --resume
    python benchmarks/latency_prediction.py --protocols in-domain --zoo-file zoo.jsonl.gz --quick
    # one process per seed (benchmarks/zoo_on_gpu.sh), then one run that writes the records:
    python benchmarks/latency_prediction.py --protocols in-domain --methods tart --device cuda --worker-seeds 3
    python benchmarks/latency_prediction.py --protocols in-domain --methods tart --seeds 5 --resume
    python benchmarks/latency_prediction.py --protocols zero-shot-platform,few-shot-platform --seeds 5 --resume
    python benchmarks/latency_prediction.py --protocols zero-shot-platform,few-shot-platform --hold-out machine \
        --platforms ort-cpu-fp32-t1@b91ad0e6,...,ort-cpu-fp32-t1@6e5ca245 --held-out ort-cpu-fp32-t1@6e5ca245 --seeds 3
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archrep import data, models
from archrep.data import ArchDataset, splits, zoo_latency
from archrep.latency.devices import DEVICES, SETTINGS, nearest_setting, setting_template
from archrep.latency.platform import Platform
from archrep.latency.stacked import SETTING_COLUMN, TARGET, stack_settings
from archrep.results import SeedCheckpoint, make_record, read_records, write_records
from archrep.train.metrics import acc10, kendall_tau, mape, spearman

RESULTS = Path(__file__).resolve().parent / "results"
TASK = "latency_prediction"
PROTOCOLS = ("zero-shot-device", "few-shot-device", "cross-space")
SHOTS = (10, 50)
METHODS = ("ledg", "flops-linear", "nearest-device", "kernel-additive")
QUICK_DEVICES = ("titan_rtx", "gold_6226", "samsung_s7")
LEDG = dict(loss="mse", log_target=True, d_model=32, layers=2, heads=2, batch_size=128, lr=1e-3, patience=None)
ZOO_PROTOCOLS = ("in-domain", "leave-family-out")
#: the zoo methods and their hyper-parameters (module docstring); ``--zoo-epochs`` overrides the
#: torch ones' epochs. GIN reads out the mean over nodes: with the sum over 20-600 nodes (and 30
#: epochs) it underfit the training set. LeDG trains in batches of 16, NNLQP's: in batches of 128
#: the zoo's few hundred models make a handful of optimiser steps an epoch, and it underfit
ZOO_METHODS = {
    "flops-linear": {"log_space": True}, "flops-macs-linear": {"log_space": True},
    "kernel-additive": {"position": False, "kernel_costs": True, "relative": True},
    "gin": {"loss": "mse", "log_target": True, "batch_size": 32, "lr": 1e-3, "patience": None, "readout": "mean",
            "epochs": 100},
    "tart": {**models.variant_config("tart", "archrep"), "loss": "mse", "log_target": True, "patience": None,
             "epochs": 30},
    "ledg": {**LEDG, "batch_size": 16, "epochs": 30},
    "kernel-gbdt": {"kernel_costs": True, "log_target": True},
}
ZOO_TORCH = ("gin", "tart", "ledg")
#: variants of the zoo methods (``--zoo-variants``, :data:`VARIANT_METHODS`): ``static`` (ours) adds NNLQP's static
#: features, the graph's batch, FLOPs, memory traffic and parameters, as graph-level inputs
#: (``graph_features``, :class:`archrep.models.base.TorchPredictor`)
#: ``pooled`` (ours) is kernel-additive's: shared kernels plus ridge 1e-3 on the per-kernel latencies,
#: chosen from {1e-4, 1e-3, 1e-2, 1e-1} on this zoo's leave-family-out folds (seed 0), so its
#: out-of-domain figures are tuned on them; 1e-4 and 1e-2 were within 5 MAPE points of it
#: ``additive`` (ours) is gin's and ledg's: the head scores every node and the prediction is the sum
#: of the per-node latencies (``readout="logsumexp"`` on unstandardised log latency,
#: :data:`archrep.models.base.READOUTS`), a learnt kernel-additive model that sees each node's context
#: ``residual`` (ours) is gin's, tart's, ledg's and kernel-gbdt's: the model learns log(latency / prediction
#: of kernel-additive (pooled)) fitted first on the same training set (``prior``,
#: :mod:`archrep.models.prior`), so the cost model carries the scale and the learnt model its errors;
#: ledg's prior is fitted on all its training platforms' rows at once
ZOO_VARIANTS = {"default": {}, "static": {"graph_features": ["batch", "flops", "memory", "params"]},
                "pooled": {"pooled": True, "ridge": 1e-3}, "additive": {"readout": "logsumexp", "standardize": False}}
ZOO_VARIANTS["residual"] = {"prior": "kernel-additive",
                            "prior_config": {**ZOO_METHODS["kernel-additive"], **ZOO_VARIANTS["pooled"]}}
#: the methods each non-default variant applies to
VARIANT_METHODS = {"static": ZOO_TORCH, "pooled": ("kernel-additive",), "additive": ("gin", "tart", "ledg"),
                   "residual": (*ZOO_TORCH, "kernel-gbdt")}
#: the configuration key of a method's graph readout where it is not ``readout``
READOUT_KEY = {"tart": "pooling"}

PLATFORM_PROTOCOLS = ("zero-shot-platform", "few-shot-platform")
PLATFORM_METHODS = ("ledg", "flops-linear", "nearest-platform", "kernel-additive")
ALL_PROTOCOLS = PROTOCOLS + ZOO_PROTOCOLS + PLATFORM_PROTOCOLS


def variant_hp(method: str, variant: str) -> dict:
    """The hyper-parameters ``variant`` (:data:`ZOO_VARIANTS`) sets on ``method``."""
    return {(READOUT_KEY.get(method, k) if k == "readout" else k): v for k, v in ZOO_VARIANTS[variant].items()}


def help_settings(ds) -> list[str]:
    """The HELP settings of a latency dataset (exact ``latency_<setting>`` columns), in column order."""
    return [s for t, s in ds.meta["settings"].items() if t == f"latency_{s}"]


def metrics(y: np.ndarray, p: np.ndarray) -> dict:
    return {"mape": mape(y, p), "acc10": acc10(y, p), "spearman": spearman(y, p), "kendall_tau": kendall_tau(y, p)}


def power_law(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(a, b) of log y = a log x + b by least squares."""
    design = np.stack([np.log(x), np.ones(len(x))], axis=1)
    return np.linalg.lstsq(design, np.log(y), rcond=None)[0]


def spec_features(setting: str) -> np.ndarray:
    s = SETTINGS[setting]
    return np.array([1.0, np.log10(DEVICES[s.device].peak_tflops), np.log10(s.batch)])


def spec_transfer(ds, seen: list[str], train_idx: np.ndarray, setting: str, test_idx: np.ndarray) -> np.ndarray:
    """FLOPs-linear transfer to ``setting`` (module docstring)."""
    flops = ds.targets["flops"]
    laws = np.array([power_law(flops[train_idx], ds.targets[f"latency_{s}"][train_idx]) for s in seen])
    coef = np.linalg.lstsq(np.stack([spec_features(s) for s in seen]), laws[:, 1], rcond=None)[0]
    return np.exp(laws[:, 0].mean() * np.log(flops[test_idx]) + spec_features(setting) @ coef)


def power_law_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Fit log y = a log x + b (:func:`power_law`) and apply it to ``x_new``: a FLOPs-linear
    predictor when x is FLOPs, the calibration of zero-shot predictions when x is those."""
    a, b = power_law(x, y)
    return np.exp(a * np.log(x_new) + b)


def _done(path: Path, protocol: str, method: str, variant: str, settings: list[str], seeds: list[int],
          train_size: int) -> bool:
    have = {(r.get("target"), r.get("train_size")) for r in read_records(path)
            if r.get("protocol") == protocol and r.get("method") == method and r.get("variant") == variant
            and r.get("seeds") == seeds}
    return all((f"latency_{s}", train_size) in have for s in settings)


def run_stats(runs: list[dict], names) -> dict:
    """``<metric>_mean`` / ``_std`` over the runs, and the best run's MAPE and Acc(10%)."""
    out = {}
    for m in names:
        v = np.array([r[m] for r in runs])
        out[f"{m}_mean"], out[f"{m}_std"] = float(v.mean()), float(v.std())
    return {**out, "mape_best": float(min(r["mape"] for r in runs)), "acc10_best": float(max(r["acc10"] for r in runs))}


def records(protocol, method, variant, device, settings, per_seed, seeds, train_size, dataset, extra=None):
    """One record per setting from ``per_seed`` = [{setting: metrics}] (one dict per seed)."""
    out = []
    for s in settings:
        runs = [r[s] for r in per_seed]
        rec = {"dataset": dataset, "target": f"latency_{s}", "protocol": protocol, "train_size": train_size,
               "method": method, "variant": variant, "family": "nb201" if dataset == "nb201-latency" else "ofa",
               "device": device, "setting": s, "platform": setting_template(s), "runs": len(runs),
               "seeds": seeds, **(extra or {})}
        out.append(make_record(TASK, **rec, **run_stats(runs, ("mape", "acc10", "spearman", "kendall_tau"))))
    return out


def device_cells(ds, device: str, args, seeds: list[int], path: Path) -> None:
    """Zero- and few-shot cells of one held-out device (module docstring)."""
    settings = help_settings(ds)
    unseen = [s for s in settings if SETTINGS[s].device == device]
    seen = [s for s in settings if SETTINGS[s].device != device]
    shots = [k for k in SHOTS if "few-shot-device" in args.protocols]
    zero: dict[tuple[str, str], list[dict]] = {}  # (method, variant) -> per seed {setting: metrics}
    few: dict[tuple[str, str, int], list[dict]] = {}
    fit_seconds: list[float] = []
    near = {s: nearest_setting(s, seen) for s in unseen}
    todo_ledg = "ledg" in args.methods and not (args.resume and _done(
        path, "zero-shot-device", "ledg", "default", unseen, seeds, args.train_per_setting))
    for seed in seeds:
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(ds))
        test_idx = perm[:args.test_archs]
        support_idx = perm[args.test_archs:args.test_archs + max(SHOTS)]
        train_idx = perm[args.test_archs + max(SHOTS):args.test_archs + max(SHOTS) + args.train_per_setting]
        preds: dict[tuple[str, str], dict[str, np.ndarray]] = {}  # zero-shot predictions on support + test rows
        rows = np.concatenate([support_idx, test_idx])
        preds[("nearest-device", "default")] = {s: ds.targets[f"latency_{near[s]}"][rows] for s in unseen}
        preds[("flops-linear", "spec-transfer")] = {s: spec_transfer(ds, seen, train_idx, s, rows) for s in unseen}
        if todo_ledg:
            t0 = time.perf_counter()
            train = stack_settings(ds.subset(train_idx), seen)
            model = models.create("ledg", seed=seed, progress=False, epochs=args.ledg_epochs, **LEDG)
            model.fit(train, TARGET)
            target_rows = stack_settings(ds.subset(rows), unseen)
            p = model.predict(target_rows)
            preds[("ledg", "default")] = {s: p[i * len(rows):(i + 1) * len(rows)] for i, s in enumerate(unseen)}
            fit_seconds.append(time.perf_counter() - t0)
            print(f"  ledg fit on {len(train)} rows ({len(seen)} settings): {fit_seconds[-1]:.0f} s", flush=True)
        n_sup = len(support_idx)
        for key, per_setting in preds.items():
            zero.setdefault(key, []).append(
                {s: metrics(ds.targets[f"latency_{s}"][test_idx], per_setting[s][n_sup:]) for s in unseen})
        for k in shots:
            sub = support_idx[:k]
            for s in unseen:
                y_sup, y_test = ds.targets[f"latency_{s}"][sub], ds.targets[f"latency_{s}"][test_idx]
                cand = {("flops-linear", "default"): power_law_predict(ds.targets["flops"][sub], y_sup,
                                                                       ds.targets["flops"][test_idx])}
                ka = models.create("kernel-additive", position=False).fit(
                    ds.subset(sub), f"latency_{s}")
                cand[("kernel-additive", "default")] = ka.predict(ds.subset(test_idx))
                for (method, _), per_setting in preds.items():
                    if method in ("ledg", "nearest-device"):
                        z = per_setting[s]
                        cand[(method, "calibrated")] = power_law_predict(z[:k], y_sup, z[n_sup:])
                for (method, variant), p in cand.items():
                    few.setdefault((method, variant, k), [{} for _ in seeds])[seeds.index(seed)][s] = metrics(y_test, p)
    info = {"test_archs": args.test_archs, "seen_settings": len(seen), "nearest": near}
    ledg_info = {"hyperparameters": {**LEDG, "epochs": args.ledg_epochs},
                 "fit_seconds_mean": float(np.mean(fit_seconds)) if fit_seconds else None}
    for (method, variant), per_seed in zero.items():
        if method in args.methods and "zero-shot-device" in args.protocols:
            write_records(path, records("zero-shot-device", method, variant, device, unseen, per_seed, seeds,
                                        args.train_per_setting, ds.name,
                                        {**info, **(ledg_info if method == "ledg" else {})}))
            report("zero-shot", method, variant, per_seed, unseen)
    for (method, variant, k), per_seed in few.items():
        if method in args.methods:
            write_records(path, records("few-shot-device", method, variant, device, unseen, per_seed, seeds, k,
                                        ds.name, {**info, **(ledg_info if method == "ledg" else {})}))
            report(f"few-shot k={k}", method, variant, per_seed, unseen)


def report(label, method, variant, per_seed, settings):
    for s in settings:
        mp = np.mean([r[s]["mape"] for r in per_seed])
        ac = np.mean([r[s]["acc10"] for r in per_seed])
        rho = np.mean([r[s]["spearman"] for r in per_seed])
        print(f"{label:14s} {s:18s} {method + '/' + variant:28s} MAPE {100 * mp:7.1f} %  Acc10 {100 * ac:5.1f} %  "
              f"rho {rho:.3f}", flush=True)


def cross_space(nb, fb, ofa, shared: list[str], args, path: Path) -> None:
    """FLOPs-linear fitted on NB201 + FBNet, tested on OFA, per shared setting (module docstring)."""
    if args.resume and _done(path, "cross-space", "flops-linear", "default", shared, None, len(nb) + len(fb)):
        return
    out = {}  # deterministic (least squares on all rows): one run, no seeds
    for s in shared:
        col = f"latency_{s}"
        x = np.concatenate([nb.targets["flops"], fb.targets["flops"]])
        y = np.concatenate([nb.targets[col], fb.targets[col]])
        ok = ~np.isnan(y)
        yo = ofa.targets[col]
        m = ~np.isnan(yo)
        out[s] = metrics(yo[m], power_law_predict(x[ok], y[ok], ofa.targets["flops"][m]))
    per_seed = [out]
    for s in shared:
        write_records(path, records("cross-space", "flops-linear", "default", SETTINGS[s].device, [s], per_seed,
                                    None, len(nb) + len(fb), ofa.name, {"train": "nb201-latency+fbnet-latency"}))
    report("cross-space", "flops-linear", "default", per_seed, shared)


def cross_space_ledg(nb, fb, ofa, shared: list[str], args, path: Path, seeds: list[int]) -> None:
    """LeDG-Former fitted on NB201 + FBNet (``--train-per-setting`` archs of each on every shared
    setting, stacked with the settings' texts), tested zero-shot on OFA subnets: it never saw an
    OFA architecture, and knows OFA's ops (``mbconv_k7_e4`` ...) only through their names'
    language embeddings, so the training set's op vocabulary is the three spaces' union."""
    train_size = 2 * args.train_per_setting
    if args.resume and _done(path, "cross-space", "ledg", "default", shared, seeds, train_size):
        return
    vocab = sorted(set(nb.op_vocab) | set(fb.op_vocab) | set(ofa.op_vocab))
    columns = [f"latency_{s}" for s in shared]
    per_seed, fit_seconds = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        picks = [(d, rng.permutation(len(d))[:args.train_per_setting]) for d in (nb, fb)]
        train = ArchDataset.from_graphs(
            "nb201-latency+fbnet-latency", [f"{d.name}/{d.keys[i]}" for d, idx in picks for i in idx],
            [d.graph(int(i)) for d, idx in picks for i in idx],
            {c: np.concatenate([d.targets[c][idx] for d, idx in picks]) for c in columns}, op_vocab=vocab,
            meta={"settings": dict(zip(columns, shared))})
        t0 = time.perf_counter()
        model = models.create("ledg", seed=seed, progress=False, epochs=args.ledg_epochs, **LEDG)
        model.fit(stack_settings(train, shared), TARGET)
        fit_seconds.append(time.perf_counter() - t0)
        test = stack_settings(ofa.subset(rng.permutation(len(ofa))[:args.test_archs]), shared)
        p, setting = model.predict(test), test.targets[SETTING_COLUMN]
        per_seed.append({s: metrics(test.targets[TARGET][setting == i], p[setting == i]) for i, s in enumerate(shared)})
        print(f"  cross-space ledg seed {seed}: fit on {len(train)} archs x {len(shared)} settings in "
              f"{fit_seconds[-1]:.0f} s", flush=True)
    extra = {"train": "nb201-latency+fbnet-latency", "test_archs": args.test_archs,
             "hyperparameters": {**LEDG, "epochs": args.ledg_epochs}, "fit_seconds_mean": float(np.mean(fit_seconds))}
    for s in shared:
        write_records(path, records("cross-space", "ledg", "default", SETTINGS[s].device, [s], per_seed, seeds,
                                    train_size, ofa.name, extra))
    report("cross-space", "ledg", "default", per_seed, shared)


# ---------------------------------------------------------------------------- model zoo, measured here
def seed_checkpoint(path: Path) -> SeedCheckpoint:
    """The per-seed results of the zoo cells, kept after their records are written: a killed run
    resumes at its next seed, and a cell rerun with more seeds computes only the new ones. A cell's
    key holds the data's fingerprint and the settings, so changed data or settings start afresh."""
    return SeedCheckpoint(path.with_name(f".{path.stem}.seeds.json"))


def data_key(ds, targets: list[str]) -> str:
    """What a checkpointed cell's data is: the graphs' fingerprint and the measured latencies."""
    h = hashlib.sha256(ds.fingerprint().encode())
    for t in targets:
        h.update(np.ascontiguousarray(ds.targets[t], dtype="<f8").tobytes())
    return h.hexdigest()


def zoo_predict(method: str, hp: dict, train, test, targets: list[str], seed: int,
                device: str = "cpu") -> dict[str, np.ndarray]:
    """``method``'s predictions on every row of ``test`` for each latency target (NaN where the row
    is not measured): one fit per target, or for ``ledg`` one fit over all targets stacked."""
    kw = {"seed": seed, "progress": False, "device": device, **hp}
    if method != "ledg":
        return {t: models.create(method, **kw).fit(train, t).predict(test) for t in targets}
    model = models.create("ledg", **kw).fit(
        zoo_latency.stack_platforms(train, targets), TARGET)
    stacked = zoo_latency.stack_platforms(test, targets)
    p = model.predict(stacked)
    out = {}
    for i, t in enumerate(targets):
        out[t] = np.full(len(test), np.nan)
        out[t][~np.isnan(test.targets[t])] = p[stacked.targets[zoo_latency.SETTING_COLUMN] == i]
    return out


def family_metrics(test, pred: dict[str, np.ndarray], families: list[str]) -> dict[tuple[str, str], dict]:
    """{(target, family): {mape, acc10, test_size}} over the test rows of each family that were measured."""
    fam = zoo_latency.row_families(test)
    out = {}
    for t, p in pred.items():
        y = test.targets[t]
        for f in families:
            rows = (fam == f) & ~np.isnan(y)
            if rows.any():
                out[(t, f)] = {"mape": mape(y[rows], p[rows]), "acc10": acc10(y[rows], p[rows]),
                               "test_size": int(rows.sum())}
    return out


def zoo_records(ds, protocol: str, method: str, hp: dict, per_seed: list[dict], seeds: list[int],
                train_sizes: dict[str, int | None], seconds: list[float], args, variant: str = "default",
                extra: dict | None = None) -> list[dict]:
    """The records of one (protocol, method, variant) cell from ``per_seed`` = [{(target, family):
    metrics}]: per target, one per family and one ``family="all"`` (per seed the mean over its families)."""
    out = []
    for t in dict.fromkeys(t for r in per_seed for t, _ in r):
        setting = ds.meta["settings"][t]
        text = Platform.from_dict(ds.meta["platforms"][setting]).template()
        fams = list(dict.fromkeys(f for r in per_seed for tt, f in r if tt == t))
        runs = {f: [r[(t, f)] for r in per_seed] for f in fams}
        runs["all"] = [{m: float(np.mean([r[(t, f)][m] for f in fams])) for m in ("mape", "acc10")} for r in per_seed]
        for f, rs in runs.items():
            rec = {"dataset": ds.name, "target": t, "protocol": protocol, "method": method, "variant": variant,
                   "family": f, "setting": setting, "platform": text, "runs": len(rs), "seeds": seeds,
                   "train_size": train_sizes.get(f), "train_per_family": args.train_per_family,
                   "test_size": rs[0]["test_size"] if f != "all" else sum(runs[g][0]["test_size"] for g in fams),
                   "families": fams, "hyperparameters": hp, "rel_spread_median": ds.meta["rel_spread_median"][t],
                   **passes_field(ds, t),
                   "seconds": float(np.mean(seconds)), **(extra or {})}
            out.append(make_record(TASK, **rec, **run_stats(rs, ("mape", "acc10"))))
    return out


def _zoo_done(path: Path, ds, protocol: str, method: str, targets: list[str], seeds: list[int], cap: int,
              variant: str = "default", train_size: int | None = None, train_platforms: list[str] | None = None) -> bool:
    """Whether the results file has this cell for every target, with these seeds and this cap
    (``--train-per-family``) on training models per family (and, where given, these training platforms)."""
    have = {r.get("target") for r in read_records(path) if r.get("protocol") == protocol and r.get("method") == method
            and r.get("variant") == variant and r.get("dataset") == ds.name and r.get("family") == "all"
            and r.get("seeds") == seeds and r.get("train_per_family") == cap
            and (train_size is None or r.get("train_size") == train_size)
            and r.get("label_passes") == passes_field(ds, r.get("target")).get("label_passes")
            and r.get("train_platforms") == train_platforms}
    return all(t in have for t in targets)


def platform_ids(ds, targets: list[str]) -> list[str]:
    """The sorted platform ids of latency ``targets``, as records name the platforms a fit trained on."""
    return sorted(ds.meta["settings"][t] for t in targets)


def zoo_cells(ds, args, seeds: list[int], path: Path) -> None:
    """Every (protocol, method) cell of the zoo protocols (module docstring), each written when done."""
    targets, groups = args.zoo_targets, zoo_latency.row_families(ds)
    families = sorted(set(groups.tolist()))
    cap = args.train_per_family or None
    checkpoint, data_id = seed_checkpoint(path), data_key(ds, targets)
    for protocol in args.zoo_protocols:
        folds = [None] if protocol == "in-domain" else families
        cells = [(m, v) for m in args.zoo_methods for v in variants_of(m, args)]
        for method, variant in cells:
            # ledg fits every target stacked, so its records name the platforms it trained on
            trained = {"train_platforms": platform_ids(ds, targets)} if method == "ledg" else {}
            if args.resume and _zoo_done(path, ds, protocol, method, targets, seeds, args.train_per_family, variant,
                                         train_platforms=trained.get("train_platforms")):
                continue
            hp = {**ZOO_METHODS[method], **variant_hp(method, variant),
                  **({"size_buckets": True} if method in ZOO_TORCH else {}),
                  **({"epochs": args.zoo_epochs} if method in ZOO_TORCH and args.zoo_epochs else {})}
            per_seed, seconds, train_sizes, trained_on = [], [], {}, set()
            key = [data_id, protocol, method, hp, targets, cap, args.test_fraction]
            for seed in args.worker_seeds or seeds:
                done = checkpoint.get(key, seed)
                if done is None:
                    t0, scores, sizes = time.perf_counter(), {}, {}
                    for held_out in folds:
                        tested = families if held_out is None else [held_out]
                        fold = {"test_fraction": args.test_fraction} if held_out is None else {"held_out": held_out}
                        split = splits.create(protocol, groups=groups, train_per_family=cap, seed=seed,
                                              **fold).split(len(ds))
                        train, test = ds.subset(split.train), ds.subset(split.test)
                        pred = zoo_predict(method, hp, train, test, targets, seed, args.device)
                        scores.update(family_metrics(test, pred, tested))
                        sizes.update(dict.fromkeys(tested, len(split.train)))
                    done = {"scores": [[t, f, m] for (t, f), m in scores.items()], "sizes": sizes,
                            "seconds": time.perf_counter() - t0, "device": args.device}
                    checkpoint.put(key, seed, done)
                per_seed.append({(t, f): m for t, f, m in done["scores"]})
                train_sizes.update(done["sizes"])
                seconds.append(done["seconds"])
                trained_on.add(done.get("device", "cpu"))
            if args.worker_seeds:  # a worker only fills the checkpoint; a --seeds run writes the records
                print(f"{protocol} {method}/{variant}: seeds {args.worker_seeds} in the checkpoint", flush=True)
                continue
            if protocol == "in-domain":  # one training set for every family
                train_sizes["all"] = train_sizes[families[0]]
            recs = zoo_records(ds, protocol, method, hp, per_seed, seeds, train_sizes, seconds, args, variant,
                               extra={"train_device": ",".join(sorted(trained_on)), **trained})
            write_records(path, recs)
            for r in recs:
                if r["family"] == "all":
                    print(f"{protocol:16s} {r['setting']:28s} {method + '/' + variant:18s} MAPE {100 * r['mape_mean']:7.2f} %  "
                          f"Acc10 {100 * r['acc10_mean']:5.1f} %  (runs {r['runs']}, {r['seconds']:.0f} s each)",
                          flush=True)


def variants_of(method: str, args) -> list[str]:
    """The ``--zoo-variants`` that apply to ``method`` (:data:`VARIANT_METHODS`)."""
    return [v for v in args.zoo_variants if v == "default" or method in VARIANT_METHODS[v]]


def calibrated(variant: str) -> str:
    """The few-shot variant name of a zero-shot predictor ``variant`` calibrated on the k."""
    return "calibrated" if variant == "default" else f"calibrated-{variant}"


def platform_seed(ds, args, ledg_hp: dict[str, dict], held: str, seen: list[str], near: str, fold, seed: int,
                  shots: list[int], families: list[str], fits: dict) -> dict:
    """One seed of one held-out platform (module docstring), ``ledg`` fitted once per variant of
    ``ledg_hp`` and seen set (``fits`` keeps the fits, so that the platforms of one held-out
    machine share them): JSON-ready {"zero": {"method|variant": [[family, metrics], ...]}, "few":
    {"method|variant|k": ...}, "seconds": {"baselines", "ledg|variant"}}."""
    flops, y = ds.targets["flops"], ds.targets[held]
    train_idx, test_idx = fold.train, fold.test
    support = np.random.default_rng(seed).permutation(train_idx)[:max(shots, default=0)]
    rows, n_sup = np.concatenate([support, test_idx]), len(support)
    test = ds.subset(test_idx)

    def scored(p: np.ndarray) -> list:
        return [[f, m] for (_, f), m in family_metrics(test, {held: p}, families).items()]

    zero_p: dict[str, np.ndarray] = {}  # zero-shot predictions on the support, then the test rows
    t0 = time.perf_counter()
    zero_p["nearest-platform|default"] = ds.targets[near][rows]
    zero_p["flops-linear|transfer"] = power_law_predict(
        np.tile(flops[train_idx], len(seen)), np.concatenate([ds.targets[t][train_idx] for t in seen]), flops[rows])
    seconds = {"baselines": time.perf_counter() - t0}
    for variant, hp in (ledg_hp.items() if "ledg" in args.platform_methods else ()):
        fit_key = (seed, variant, tuple(seen))
        if fit_key not in fits:
            t0 = time.perf_counter()
            model = models.create("ledg", seed=seed, progress=False, device=args.device, **hp).fit(
                zoo_latency.stack_platforms(ds.subset(train_idx), seen), TARGET)
            fits[fit_key] = model, time.perf_counter() - t0
            print(f"  seed {seed}: ledg/{variant} fit on {len(train_idx)} archs x {len(seen)} platforms in "
                  f"{fits[fit_key][1]:.0f} s", flush=True)
        model, seconds[f"ledg|{variant}"] = fits[fit_key]
        zero_p[f"ledg|{variant}"] = model.predict(zoo_latency.stack_platforms(ds.subset(rows), [held]))
    few = {}
    for k in shots:
        sup = support[:k]
        few[f"flops-linear|default|{k}"] = scored(power_law_predict(flops[sup], y[sup], flops[test_idx]))
        for variant in (variants_of("kernel-additive", args) if "kernel-additive" in args.platform_methods else ()):
            few[f"kernel-additive|{variant}|{k}"] = scored(models.create(
                "kernel-additive", **ZOO_METHODS["kernel-additive"], **ZOO_VARIANTS[variant]).fit(
                ds.subset(sup), held).predict(test))
        for name, p in zero_p.items():
            method, variant = name.split("|")
            if method in ("ledg", "nearest-platform"):
                few[f"{method}|{calibrated(variant)}|{k}"] = scored(power_law_predict(p[:k], y[sup], p[n_sup:]))
    return {"zero": {name: scored(p[n_sup:]) for name, p in zero_p.items()}, "few": few, "seconds": seconds}


def seen_platforms(held: str, targets: list[str], machine_of: dict[str, str], hold_out: str) -> list[str]:
    """The targets a fit for held-out ``held`` may train on: every other one (``hold_out="platform"``),
    or only those of other machines (``"machine"``: none of the held-out machine's settings)."""
    if hold_out == "machine":
        return [t for t in targets if machine_of[t] != machine_of[held]]
    return [t for t in targets if t != held]


def platform_cells(ds, args, seeds: list[int], path: Path) -> None:
    """Zero- and few-shot cells of every held-out zoo platform (module docstring), each held-out
    platform's cells written when done."""
    targets = args.zoo_targets
    if len(targets) < 2:
        raise SystemExit(f"the cross-platform protocols hold one platform out and need >= 2; {ds.name} has "
                         f"{', '.join(targets)}")
    everywhere = np.all([~np.isnan(ds.targets[t]) for t in targets], axis=0)
    ds = ds.subset(np.flatnonzero(everywhere))  # models measured on every platform: one test set for all
    groups = zoo_latency.row_families(ds)
    families = sorted(set(groups.tolist()))
    plats = {t: Platform.from_dict(ds.meta["platforms"][ds.meta["settings"][t]]) for t in targets}
    machine_of = {t: p.machine_id for t, p in plats.items()}
    if args.hold_out == "machine" and len(set(machine_of.values())) < 2:
        raise SystemExit("--hold-out machine needs platforms of >= 2 machines; --platforms "
                         f"{','.join(targets)} were all measured on one (machine {next(iter(machine_of.values()))})")
    cap = args.train_per_family or None
    hp = {**ZOO_METHODS["ledg"], "size_buckets": True, **({"epochs": args.zoo_epochs} if args.zoo_epochs else {})}
    ledg_hp = {v: {**hp, **variant_hp("ledg", v)} for v in variants_of("ledg", args)}
    ledg_of = {name: v for v in ledg_hp for name in (v, calibrated(v))}  # a ledg record's variant -> its fit
    checkpoint, data_id = seed_checkpoint(path), data_key(ds, targets)
    folds = {seed: splits.create("in-domain", groups=groups, train_per_family=cap, seed=seed,
                                 test_fraction=args.test_fraction).split(len(ds)) for seed in seeds}
    n_train = min(len(f.train) for f in folds.values())
    shots = [k for k in SHOTS if k <= n_train] if "few-shot-platform" in args.platform_protocols else []
    if "few-shot-platform" in args.platform_protocols and len(shots) < len(SHOTS):
        print(f"few-shot-platform: only {n_train} training archs, so k = {shots or 'none'} of {list(SHOTS)}", flush=True)
    zero_cells = [*(("ledg", v) for v in ledg_hp), ("flops-linear", "transfer"), ("nearest-platform", "default")]
    few_cells = [("flops-linear", "default"), *(("kernel-additive", v) for v in variants_of("kernel-additive", args)),
                 *(("ledg", calibrated(v)) for v in ledg_hp), ("nearest-platform", "calibrated")]
    zero_cells = [c for c in zero_cells if c[0] in args.platform_methods and "zero-shot-platform" in args.platform_protocols]
    few_cells = [c for c in few_cells if c[0] in args.platform_methods] if shots else []
    fits: dict = {}
    for held in args.held_out_targets or targets:
        seen = seen_platforms(held, targets, machine_of, args.hold_out)
        near = min(seen, key=lambda t: plats[held].distance(plats[t]))
        # a fit over other machines names its training platforms (part of the cell); a record
        # without them trained on the other settings of the held-out platform's machine
        trained = ({"held_out_by": "machine", "train_platforms": platform_ids(ds, seen)}
                   if args.hold_out == "machine" else {})
        on = trained.get("train_platforms")
        if args.resume and all(_zoo_done(path, ds, "zero-shot-platform", m, [held], seeds, args.train_per_family, v,
                                         train_platforms=on) for m, v in zero_cells) \
                and all(_zoo_done(path, ds, "few-shot-platform", m, [held], seeds, args.train_per_family, v, k,
                                  train_platforms=on) for m, v in few_cells for k in shots):
            continue
        print(f"held-out platform {held} (seen {', '.join(seen)}; nearest {near})", flush=True)
        zero: dict[tuple, list[dict]] = {}
        few: dict[tuple, list[dict]] = {}
        seconds: dict[str, list[float]] = {}
        key = [data_id, "platforms", held, targets, sorted(args.platform_methods), shots, ledg_hp, cap,
               args.test_fraction, variants_of("kernel-additive", args), seen]
        trained_on = set()
        for seed in args.worker_seeds or seeds:
            done = checkpoint.get(key, seed)  # a seed finished before the run was stopped, else None
            if done is None:
                done = {**platform_seed(ds, args, ledg_hp, held, seen, near, folds[seed], seed, shots, families,
                                        fits),
                        "device": args.device}
                checkpoint.put(key, seed, done)
            trained_on.add(done.get("device", "cpu"))
            for name, scores in done["zero"].items():
                zero.setdefault(tuple(name.split("|")), []).append({(held, f): m for f, m in scores})
            for name, scores in done["few"].items():
                method, variant, k = name.split("|")
                few.setdefault((method, variant, int(k)), []).append({(held, f): m for f, m in scores})
            for name, value in done["seconds"].items():
                seconds.setdefault(name, []).append(value)
        if args.worker_seeds:
            print(f"held-out {held}: seeds {args.worker_seeds} in the checkpoint", flush=True)
            continue
        info = {"held_out_platform": held, "seen_platforms": seen, "nearest_platform": near,
                "train_device": ",".join(sorted(trained_on)), **trained}
        cells = [("zero-shot-platform", m, v, n_train, runs) for (m, v), runs in zero.items() if (m, v) in zero_cells]
        cells += [("few-shot-platform", m, v, k, runs) for (m, v, k), runs in few.items() if (m, v) in few_cells]
        recs = []
        for protocol, method, variant, size, per_seed in cells:
            # a ledg record (calibrated or not) carries its fit's settings and cost
            fit = ledg_of[variant] if method == "ledg" else None
            recs += zoo_records(ds, protocol, method, ledg_hp[fit] if fit else {}, per_seed, seeds,
                                dict.fromkeys([*families, "all"], size),
                                seconds[f"ledg|{fit}"] if fit else seconds["baselines"], args, variant, info)
        write_records(path, recs)
        for r in recs:
            if r["family"] == "all":
                print(f"{r['protocol']:18s} k={r['train_size']:<5d} {r['method'] + '/' + r['variant']:28s} "
                      f"MAPE {100 * r['mape_mean']:7.2f} %  Acc10 {100 * r['acc10_mean']:5.1f} %", flush=True)


def add_label_option(parser) -> None:
    """``--zoo-label`` / ``--zoo-passes``: which statistic of a measurement is the latency label, and
    over how many of a model's passes (read by :func:`load_zoo`)."""
    parser.add_argument("--zoo-label", choices=tuple(zoo_latency.STATISTICS), default="median",
                        help="latency label: each measurement's median (default; dataset zoo-latency) or its "
                             "fastest run (min; dataset zoo-latency-min, records under that name)")
    parser.add_argument("--zoo-passes", type=int, metavar="N",
                        help="label a model by the median of its first N passes only (default: all stored "
                             "passes); --zoo-passes 1 gives one-pass labels. Records of labels from several "
                             "passes carry label_passes (a cell of their own)")


def passes_field(ds, target: str) -> dict:
    """``{"label_passes": N}`` for a record on ``target`` whose labels are medians of up to N > 1
    passes, else ``{}`` (a one-pass record keeps the fields, and so the cell, it had before passes existed)."""
    most = ds.meta.get("label_passes", {}).get(target, 1)
    return {"label_passes": most} if most > 1 else {}


def platform_targets(ds, text: str, flag: str, ap) -> list[str]:
    """The latency targets of comma-separated targets or platform ids; an unknown one is an error that lists them."""
    settings = ds.meta["settings"]
    by_id = {v: k for k, v in settings.items()}
    chosen = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in chosen if p not in settings and p not in by_id]
    if bad:
        ap.error(f"{flag}: unknown platform(s) {', '.join(bad)}; {ds.name} has {', '.join(settings)} "
                 f"(ids {', '.join(by_id)})")
    return [p if p in settings else by_id[p] for p in chosen]


def load_zoo(args, ap):
    """The zoo dataset of ``--zoo-file`` (or the package file) labelled by ``--zoo-label``, cut to
    ``--families`` / ``--platforms`` and to the models measured on at least one of those platforms."""
    if args.zoo_passes is not None and args.zoo_passes < 1:
        ap.error(f"--zoo-passes {args.zoo_passes}: give a number of passes >= 1")
    if args.zoo_file or args.zoo_passes:
        ds = zoo_latency.from_export(args.zoo_file or zoo_latency.DEFAULT_FILE, statistic=args.zoo_label,
                                     passes=args.zoo_passes)
    else:
        ds = data.load(zoo_latency.MIN_NAME if args.zoo_label == "min" else zoo_latency.NAME)
    known = zoo_latency.row_families(ds)
    if args.families:
        chosen = [f.strip() for f in args.families.split(",") if f.strip()]
        bad = [f for f in chosen if f not in set(known.tolist())]
        if bad:
            ap.error(f"unknown family(ies) {', '.join(bad)}; {ds.name} has {', '.join(ds.meta['families'])}")
        ds = ds.subset(np.flatnonzero(np.isin(known, chosen)))
    args.zoo_targets = platform_targets(ds, args.platforms, "--platforms", ap) if args.platforms else list(
        ds.meta["settings"])
    # models measured on none of the chosen platforms neither train nor test; dropping them keeps the
    # splits (and the per-family cap) of these platforms the same when the file gains other platforms
    measured = np.any([~np.isnan(ds.targets[t]) for t in args.zoo_targets], axis=0)
    return ds if measured.all() else ds.subset(np.flatnonzero(measured))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"), help="the shared data folder")
    ap.add_argument("--protocols", default=",".join(PROTOCOLS),
                    help=f"comma-separated, of {', '.join(ALL_PROTOCOLS)} (default: the real-device "
                         f"ones, {', '.join(PROTOCOLS)})")
    ap.add_argument("--methods", help=f"comma-separated methods to record (default: real devices {', '.join(METHODS)}; "
                                      f"model zoo {', '.join(ZOO_METHODS)}; zoo platforms "
                                      f"{', '.join(PLATFORM_METHODS)})")
    ap.add_argument("--devices", help="comma-separated held-out devices (default: every HELP device of nb201-latency)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--train-per-setting", type=int, default=1000, help="architectures per seen setting (default 1000)")
    ap.add_argument("--test-archs", type=int, default=2000, help="test architectures per held-out setting")
    ap.add_argument("--ledg-epochs", type=int, default=60)
    zoo = ap.add_argument_group("model zoo (protocols " + ", ".join(ZOO_PROTOCOLS + PLATFORM_PROTOCOLS) + ")")
    zoo.add_argument("--zoo-file", help="an 'archrep latency-dataset export' file (default: the zoo-latency "
                                        "dataset's package file)")
    add_label_option(zoo)
    zoo.add_argument("--families", help="comma-separated families to use (default: all in the file)")
    zoo.add_argument("--platforms", help="comma-separated latency targets or platform ids (default: all in the file)")
    zoo.add_argument("--train-per-family", type=int, default=100,
                     help="seeded cap on each family's training architectures (default 100; 0 = all)")
    zoo.add_argument("--test-fraction", type=float, default=0.1, help="in-domain test share per family (default 0.1)")
    zoo.add_argument("--zoo-variants", default="default",
                     help=f"comma-separated variants of the zoo methods, of {', '.join(ZOO_VARIANTS)} "
                          "(static, additive, residual: the torch methods gin, tart and ledg; pooled: "
                          "kernel-additive; default: default)")
    zoo.add_argument("--hold-out", choices=("platform", "machine"), default="platform",
                     help="zero-/few-shot-platform: hold out one platform and train on all others (default), or "
                          "hold out a platform's whole machine (every runtime, precision and thread count "
                          "measured on its hardware) and train on the other machines' platforms only")
    zoo.add_argument("--held-out", help="zero-/few-shot-platform: comma-separated platforms (targets or ids) to hold "
                                        "out in turn (default: each of --platforms)")
    zoo.add_argument("--zoo-epochs", type=int, help="epochs of gin, tart and ledg (default: gin 100, tart and ledg 30)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 seed; devices " + ", ".join(QUICK_DEVICES) + ", 100 archs per seen setting, "
                         "500 test archs, 10 LeDG epochs; zoo: 20 training archs per family, 2 epochs")
    ap.add_argument("--resume", action="store_true", help="skip cells the results file already has for these seeds")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--device", default="cpu", help="where the zoo's gin, tart and ledg train: cpu, cuda or cuda:N "
                                                     "(recorded as train_device)")
    ap.add_argument("--worker-seeds",
                    help="model-zoo protocols: compute only these comma-separated seeds of each cell into the per-seed "
                         "checkpoint beside the results and write no records, so that several processes share a "
                         "cell's seeds; a later run with --seeds N --resume writes the records from the checkpoint")
    args = ap.parse_args(argv)
    try:
        args.worker_seeds = [int(x) for x in args.worker_seeds.split(",") if x.strip()] if args.worker_seeds else None
    except ValueError:
        ap.error(f"--worker-seeds {args.worker_seeds!r}: give comma-separated integers, e.g. 0,1")
    torch.set_num_threads(args.threads)
    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = sorted(set(args.protocols) - set(ALL_PROTOCOLS))
    if unknown:
        ap.error(f"unknown protocol(s) {', '.join(unknown)}; valid: {', '.join(ALL_PROTOCOLS)}")
    if args.worker_seeds and set(args.protocols) - set(ZOO_PROTOCOLS + PLATFORM_PROTOCOLS):
        ap.error("--worker-seeds works with the model-zoo protocols only: "
                 + ", ".join(ZOO_PROTOCOLS + PLATFORM_PROTOCOLS))
    given = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else None
    valid = list(dict.fromkeys((*METHODS, *ZOO_METHODS, *PLATFORM_METHODS)))
    unknown = sorted(set(given or ()) - set(valid))
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    args.methods = given or list(METHODS)
    args.zoo_protocols = [p for p in args.protocols if p in ZOO_PROTOCOLS]
    args.zoo_methods = [m for m in (given or ZOO_METHODS) if m in ZOO_METHODS]
    if args.zoo_protocols and not args.zoo_methods:
        ap.error(f"none of the methods {', '.join(given)} runs on the model zoo; use some of {', '.join(ZOO_METHODS)}")
    args.platform_protocols = [p for p in args.protocols if p in PLATFORM_PROTOCOLS]
    args.platform_methods = [m for m in (given or PLATFORM_METHODS) if m in PLATFORM_METHODS]
    if args.platform_protocols and not args.platform_methods:
        ap.error(f"none of the methods {', '.join(given)} runs across zoo platforms; use some of "
                 f"{', '.join(PLATFORM_METHODS)}")
    args.zoo_variants = [v.strip() for v in args.zoo_variants.split(",") if v.strip()]
    unknown = sorted(set(args.zoo_variants) - set(ZOO_VARIANTS))
    if unknown or not args.zoo_variants:
        ap.error(f"--zoo-variants {','.join(args.zoo_variants)}: valid variants are {', '.join(ZOO_VARIANTS)}")
    if args.train_per_family < 0:
        ap.error(f"--train-per-family {args.train_per_family}: give a positive cap, or 0 for all")
    if args.quick:
        args.train_per_setting, args.test_archs, args.ledg_epochs = 100, 500, 10
        args.train_per_family, args.zoo_epochs = 20, 2
    seeds = [0] if args.quick else list(range(args.seeds))
    path = Path(args.results) / "latency_prediction.json"

    if {"zero-shot-device", "few-shot-device"} & set(args.protocols):
        ds = data.load("nb201-latency", data_dir=args.data_dir)
        devices = list(dict.fromkeys(SETTINGS[s].device for s in help_settings(ds)))
        chosen = QUICK_DEVICES if args.quick and not args.devices else (
            [d.strip() for d in args.devices.split(",")] if args.devices else devices)
        bad = [d for d in chosen if d not in devices]
        if bad:
            ap.error(f"unknown device(s) {', '.join(bad)}; nb201-latency has {', '.join(devices)}")
        for device in chosen:
            print(f"held-out device {device}", flush=True)
            device_cells(ds, device, args, seeds, path)
    if "cross-space" in args.protocols:
        nb, fb, ofa = (data.load(n, data_dir=args.data_dir) for n in ("nb201-latency", "fbnet-latency", "ofa-latency"))
        shared = [s for s in help_settings(ofa) if s in help_settings(nb) and s in help_settings(fb)]
        if "flops-linear" in args.methods:
            cross_space(nb, fb, ofa, shared, args, path)
        if "ledg" in args.methods:
            cross_space_ledg(nb, fb, ofa, shared, args, path, seeds)
    if args.zoo_protocols or args.platform_protocols:
        zoo = load_zoo(args, ap)
        args.held_out_targets = platform_targets(zoo, args.held_out, "--held-out", ap) if args.held_out else None
        outside = [t for t in args.held_out_targets or () if t not in args.zoo_targets]
        if outside:
            ap.error(f"--held-out {', '.join(outside)}: not among the chosen --platforms {', '.join(args.zoo_targets)}")
        if args.zoo_protocols:
            zoo_cells(zoo, args, seeds, path)
        if args.platform_protocols:
            platform_cells(zoo, args, seeds, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
