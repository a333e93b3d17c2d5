"""Latency prediction on real devices -> benchmarks/results/latency_prediction.json.

Data: ``nb201-latency`` (HELP's 27 NB201 device settings; ``--data-dir`` / ``ARCHREP_DATA_DIR``).
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
  OFA subnets of the same setting (the settings the three files share).

Metrics on test architectures disjoint from every training/support architecture, per setting of
D: MAPE and Acc(10%) (fractions), Spearman and Kendall tau; mean ± std over seeds (``runs``)
and the best seed. One record per (protocol, method, variant, setting); ``target`` is
``latency_<setting>``, ``device`` the held-out device, ``platform`` its text. Each finished
(device, method) cell is written at once; ``--resume`` skips cells already in the file for the
same seeds.

    python benchmarks/latency_prediction.py --quick          # 1 seed, 3 devices, small: a smoke run
    python benchmarks/latency_prediction.py --devices titan_rtx,gold_6226 --seeds 5 --resume
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archrep import data, models
from archrep.latency.devices import DEVICES, SETTINGS, nearest_setting, setting_template
from archrep.latency.stacked import TARGET, stack_settings
from archrep.results import make_record, read_records, write_records
from archrep.train.metrics import acc10, kendall_tau, mape, spearman

RESULTS = Path(__file__).resolve().parent / "results"
TASK = "latency_prediction"
PROTOCOLS = ("zero-shot-device", "few-shot-device", "cross-space")
SHOTS = (10, 50)
METHODS = ("ledg", "flops-linear", "nearest-device", "kernel-additive")
QUICK_DEVICES = ("titan_rtx", "gold_6226", "samsung_s7")
LEDG = dict(loss="mse", log_target=True, d_model=32, layers=2, heads=2, batch_size=128, lr=1e-3, patience=None)


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


def calibrate(zero: np.ndarray, y: np.ndarray, target_zero: np.ndarray) -> np.ndarray:
    """Fit log y = a log zero + b on the support rows, apply to ``target_zero``."""
    a, b = power_law(zero, y)
    return np.exp(a * np.log(target_zero) + b)


def _done(path: Path, protocol: str, method: str, variant: str, settings: list[str], seeds: list[int],
          train_size: int) -> bool:
    have = {(r.get("target"), r.get("train_size")) for r in read_records(path)
            if r.get("protocol") == protocol and r.get("method") == method and r.get("variant") == variant
            and r.get("seeds") == seeds}
    return all((f"latency_{s}", train_size) in have for s in settings)


def records(protocol, method, variant, device, settings, per_seed, seeds, train_size, dataset, extra=None):
    """One record per setting from ``per_seed`` = [{setting: metrics}] (one dict per seed)."""
    out = []
    for s in settings:
        runs = [r[s] for r in per_seed]
        rec = {"dataset": dataset, "target": f"latency_{s}", "protocol": protocol, "train_size": train_size,
               "method": method, "variant": variant, "family": "nb201" if dataset == "nb201-latency" else "ofa",
               "device": device, "setting": s, "platform": setting_template(s), "runs": len(runs),
               "seeds": seeds, **(extra or {})}
        for m in ("mape", "acc10", "spearman", "kendall_tau"):
            v = np.array([r[m] for r in runs])
            rec[f"{m}_mean"], rec[f"{m}_std"] = float(v.mean()), float(v.std())
        rec["mape_best"] = float(min(r["mape"] for r in runs))
        rec["acc10_best"] = float(max(r["acc10"] for r in runs))
        out.append(make_record(TASK, **rec))
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
                fl = power_law(ds.targets["flops"][sub], y_sup)
                cand = {("flops-linear", "default"): np.exp(fl[0] * np.log(ds.targets["flops"][test_idx]) + fl[1])}
                ka = models.create("kernel-additive", position=False).fit(
                    ds.subset(sub), f"latency_{s}")
                cand[("kernel-additive", "default")] = ka.predict(ds.subset(test_idx))
                for (method, _), per_setting in preds.items():
                    if method in ("ledg", "nearest-device"):
                        z = per_setting[s]
                        cand[(method, "calibrated")] = calibrate(z[:k], y_sup, z[n_sup:])
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


def cross_space(args, path: Path) -> None:
    """FLOPs-linear fitted on NB201 + FBNet, tested on OFA, per shared setting (module docstring)."""
    nb, fb, ofa = (data.load(n, data_dir=args.data_dir) for n in ("nb201-latency", "fbnet-latency", "ofa-latency"))
    shared = [s for s in help_settings(ofa) if s in help_settings(nb) and s in help_settings(fb)]
    if args.resume and _done(path, "cross-space", "flops-linear", "default", shared, None, len(nb) + len(fb)):
        return
    out = {}  # deterministic (least squares on all rows): one run, no seeds
    for s in shared:
        col = f"latency_{s}"
        x = np.concatenate([nb.targets["flops"], fb.targets["flops"]])
        y = np.concatenate([nb.targets[col], fb.targets[col]])
        ok = ~np.isnan(y)
        a, b = power_law(x[ok], y[ok])
        yo = ofa.targets[col]
        m = ~np.isnan(yo)
        out[s] = metrics(yo[m], np.exp(a * np.log(ofa.targets["flops"][m]) + b))
    per_seed = [out]
    for s in shared:
        write_records(path, records("cross-space", "flops-linear", "default", SETTINGS[s].device, [s], per_seed,
                                    None, len(nb) + len(fb), ofa.name, {"train": "nb201-latency+fbnet-latency"}))
    report("cross-space", "flops-linear", "default", per_seed, shared)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"), help="the shared data folder")
    ap.add_argument("--protocols", default=",".join(PROTOCOLS), help=f"comma-separated, of {', '.join(PROTOCOLS)}")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help="comma-separated methods to record")
    ap.add_argument("--devices", help="comma-separated held-out devices (default: every HELP device of nb201-latency)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    ap.add_argument("--train-per-setting", type=int, default=1000, help="architectures per seen setting (default 1000)")
    ap.add_argument("--test-archs", type=int, default=2000, help="test architectures per held-out setting")
    ap.add_argument("--ledg-epochs", type=int, default=60)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 1 seed, devices " + ", ".join(QUICK_DEVICES) + ", 100 archs per seen setting, "
                         "500 test archs, 10 LeDG epochs")
    ap.add_argument("--resume", action="store_true", help="skip cells the results file already has for these seeds")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.protocols = [p.strip() for p in args.protocols.split(",") if p.strip()]
    unknown = sorted(set(args.protocols) - set(PROTOCOLS))
    if unknown:
        ap.error(f"unknown protocol(s) {', '.join(unknown)}; valid: {', '.join(PROTOCOLS)}")
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; valid: {', '.join(METHODS)}")
    if args.quick:
        args.train_per_setting, args.test_archs, args.ledg_epochs = 100, 500, 10
    seeds = [0] if args.quick else list(range(args.seeds))
    path = Path(args.results) / "latency_prediction.json"

    ds = data.load("nb201-latency", data_dir=args.data_dir)
    devices = list(dict.fromkeys(SETTINGS[s].device for s in help_settings(ds)))
    chosen = QUICK_DEVICES if args.quick and not args.devices else (
        [d.strip() for d in args.devices.split(",")] if args.devices else devices)
    bad = [d for d in chosen if d not in devices]
    if bad:
        ap.error(f"unknown device(s) {', '.join(bad)}; nb201-latency has {', '.join(devices)}")
    if {"zero-shot-device", "few-shot-device"} & set(args.protocols):
        for device in chosen:
            print(f"held-out device {device}", flush=True)
            device_cells(ds, device, args, seeds, path)
    if "cross-space" in args.protocols:
        cross_space(args, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
