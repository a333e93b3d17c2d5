"""Pre-training benchmark (issue 4, FGP) -> benchmarks/results/pretraining.json.

For each dataset x encoder x pre-training method x training ratio, fine-tune the encoder on the
pool protocol (research/methods.md §5) and test it:

* datasets: NB201 (official CIFAR-10 test accuracy ``cifar10``, pool 7,813) and NAS-Bench-Graph
  ``nbgraph-cora`` / ``nbgraph-citeseer`` (target ``perf``; FGP gives no pool size for them, so
  half the space, 13,103, the rule that reproduces NB101's and NB201's pools);
* encoders (:data:`ENCODERS`): ``gin`` (its ``fgp`` variant: FGP's GIN, whose readout pools every
  layer's states concatenated) and ``gatedgcn`` with FGP's NB201 GNN settings (hidden 128,
  3 layers, dropout 0.1, mean readout, AdamW lr 1e-3, wd 1e-6, batch 16), ``tart`` (its
  ``archrep`` variant) and ``ledg`` (its defaults). Fine-tuning (pairwise hinge, margin 0.5,
  32 pairs per architecture) runs each model's epochs (GNNs 200, FGP 500) and keeps the epoch
  with the best validation Kendall tau, without early stopping, as FGP selects models;
* pre-training (:data:`PRETRAIN`): ``none`` (supervised only), ``autoencoder`` (arch2vec-style),
  ``fgp`` (the paper's raw flow surrogates) and ``fgp-std`` (ours: z-scored surrogates; on NB201
  GIN at 1 %, 3 runs, it lifted P@1 % from 0.10 to 0.22 where raw fgp did not help);
  ``--proxy COLUMN`` adds FGP's zero-cost-proxy head to both fgp labels ("fgp+params"). Each is
  pre-trained on every architecture of the dataset once per (dataset, encoder, label, seed,
  settings) and cached (``--cache``), so the runs of a cell share it;
* ratios 1 %, 5 %, 10 % of the pool; 9 runs = permutation seeds {21, 2021, 202121} x training
  seeds {21, 2021, 202121}; Kendall tau, Spearman, Precision@1 % and @5 % on the test set.
* row order (:func:`file_order`): seed 21 keeps the dataset's order. FGP's NB201 file is in
  NB201 index order, which looks random, so NB201 is put in that order (from the official CSV);
  archrep's own order is the space's enumeration, where the first half lacks the best cells and
  the identity split is a distribution shift. NAS-Bench-Graph has no file order in FGP, so its
  enumeration order is shuffled once (``numpy.random.RandomState(0)``) in its place.

Records (task ``pretraining``): ``dataset``, ``target``, ``protocol`` "pool", ``train_size``,
``method`` = the encoder (also as ``encoder``), ``variant`` = the pre-training label (also as
``pretrain``; "fgp+params" with a proxy), ``model_variant``, ``ratio``,
``seeds`` / ``model_seeds``, ``<metric>_mean`` / ``_std``, ``pretrain_seconds`` (0 for none),
``pretrain_epochs``, ``pretrain_git_commit`` (the code that pre-trained the cached encoder, when
its manifest records it), ``seconds`` (fine-tuning, all runs). Each cell is written as soon as it is
done; ``--resume`` skips cells the results file holds for the same seeds and settings.

    python benchmarks/pretraining.py --data-dir ../shared/data
    python benchmarks/pretraining.py --datasets nb201 --encoders gin,gatedgcn --resume
    python benchmarks/pretraining.py --quick --datasets nb201 --encoders gin   # smoke run
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import argparse
import hashlib
import json
import math
import sys
import time
from fractions import Fraction
from pathlib import Path

import torch

import numpy as np

from archrep import config, data, experiment, pretrain
from archrep.data.nb201 import OFFICIAL_CSV, official_index_order
from archrep.data.splits import POOL_SIZES
from archrep.errors import ArchrepError
from archrep.results import read_records, write_records
from plotting import pyplot  # benchmarks/plotting.py, beside this script

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = {"nb201": "cifar10", "nbgraph-cora": "perf", "nbgraph-citeseer": "perf"}
#: encoder -> (model variant, hyper-parameters on top of it)
FGP_GNN = {"hidden": 128, "layers": 3, "dropout": 0.1, "weight_decay": 1e-6, "batch_size": 16}
#: model selection by the best validation tau over all epochs (FGP's), no early stopping
FINE_TUNE = {"patience": None}
ENCODERS = {"gin": ("fgp", {}), "gatedgcn": ("default", FGP_GNN),
            "tart": ("archrep", {}), "ledg": ("default", {})}
#: pre-training label -> (pretext task, its options); "none" fine-tunes from scratch
PRETRAIN = {"none": (None, {}), "autoencoder": ("autoencoder", {}), "fgp": ("fgp", {}),
            "fgp-std": ("fgp", {"standardize": True})}
RATIOS = (0.01, 0.05, 0.1)
SEEDS = (21, 2021, 202121)
METRICS = ("kendall_tau", "spearman", "precision_at_1pct", "precision_at_5pct")
QUICK_PRETRAIN_EPOCHS = 10


def file_order(ds, data_dir: str | None):
    """``ds`` in the row order the pool protocol's identity permutation (seed 21) applies to
    (module docstring): NB201 index order for nb201, a fixed shuffle otherwise."""
    if ds.name == "nb201":
        folder = config.data_dir(data_dir)
        if folder is None or not (folder / OFFICIAL_CSV).is_file():
            raise ArchrepError(f"nb201 needs the official CSV for its cifar10 target and index order: pass "
                               f"--data-dir so that DATA_DIR/{OFFICIAL_CSV.as_posix()} exists")
        return ds.subset([ds.index_of(k) for k in official_index_order(folder / OFFICIAL_CSV)])
    return ds.subset(np.random.RandomState(0).permutation(len(ds)))


def pool_size(ds) -> int:
    """FGP's pool for NB101/NB201, half the space elsewhere (module docstring)."""
    return POOL_SIZES.get(ds.name, math.ceil(len(ds) / 2))


def train_size(pool: int, ratio: float) -> int:
    return math.floor(Fraction(str(ratio)) * pool)


def pretrained_encoder(ds, encoder: str, method: str, options: dict, settings: dict, cache: Path,
                       device: str = "cpu"):
    """The pre-trained encoder folder (and encoder) of this (dataset, encoder, method, options,
    settings), pre-training it on ``device`` unless the cache already holds it (from any device) from
    this :data:`archrep.pretrain.REVISION` of the pre-training code."""
    variant, cfg = ENCODERS[encoder]
    key = {"fingerprint": ds.fingerprint(), "encoder": encoder, "variant": variant, "cfg": cfg, "method": method,
           "options": options, **settings}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    folder = cache / f"{ds.name}-{encoder}-{method}-{digest}"
    try:
        cached = pretrain.load(folder)
        if cached.revision == pretrain.REVISION:
            return folder, cached
        print(f"  {folder.name}: pre-trained by revision {cached.revision} of the pre-training "
              f"code, this is {pretrain.REVISION}: pre-training again", flush=True)
    except ArchrepError:
        pass
    t0 = time.perf_counter()
    enc = pretrain.pretrain(ds, encoder, method, variant=variant, encoder_cfg=cfg, progress=False, device=device,
                            **settings, **options)
    enc.save(folder)
    final = {k: round(v, 4) for k, v in enc.manifest["final"].items() if k not in ("epoch", "seconds")}
    print(f"  pre-trained {encoder} with {method} on {ds.name} in {time.perf_counter() - t0:.0f} s: {final}",
          flush=True)
    return folder, enc


def _done(path: Path, rec: dict) -> bool:
    keys = ("dataset", "target", "train_size", "method", "variant", "model_variant", "seeds", "model_seeds",
            "pretrain_epochs")
    return any(all(r.get(k) == rec[k] for k in keys) for r in read_records(path) if r.get("task") == "pretraining")


def plot_pretraining(records: list[dict], metric: str, path: Path) -> None:
    """``metric`` (mean ± std over the runs) against the training ratio: a panel per dataset (rows)
    and encoder (columns), a line per pre-training. Only the cells of each encoder's benchmark
    variant (:data:`ENCODERS`), the default 9 runs and the default pre-training length are drawn;
    skipped without matplotlib."""
    default_runs = len(SEEDS) ** 2
    cells = [r for r in records if r.get("task") == "pretraining" and r.get("encoder") in ENCODERS
             and r.get("model_variant") == ENCODERS[r["encoder"]][0] and r.get("runs", default_runs) == default_runs
             and r.get("pretrain_epochs") in (None, pretrain.DEFAULT_EPOCHS)]
    plt = pyplot() if cells else None
    if plt is None:
        return
    datasets = [d for d in DATASETS if any(r["dataset"] == d for r in cells)]
    encoders = [e for e in ENCODERS if any(r["encoder"] == e for r in cells)]
    labels = list(PRETRAIN) + sorted({r["pretrain"] for r in cells} - set(PRETRAIN))  # one colour each
    fig, axes = plt.subplots(len(datasets), len(encoders), figsize=(3.3 * len(encoders), 2.8 * len(datasets)),
                             squeeze=False, sharex=True)
    for i, dataset in enumerate(datasets):
        for j, encoder in enumerate(encoders):
            ax = axes[i][j]
            lines: dict[str, list[dict]] = {}
            for r in cells:
                if r["dataset"] == dataset and r["encoder"] == encoder:
                    lines.setdefault(r["pretrain"], []).append(r)
            for pre, rs in sorted(lines.items(), key=lambda kv: labels.index(kv[0])):
                rs = sorted(rs, key=lambda r: r["ratio"])
                ax.errorbar([100 * r["ratio"] for r in rs], [r[f"{metric}_mean"] for r in rs],
                            yerr=[r[f"{metric}_std"] for r in rs], marker="o", ms=3, capsize=2, label=pre,
                            color=f"C{labels.index(pre)}")
            ax.set_xscale("log")
            ax.set_xticks([100 * r for r in RATIOS], [f"{100 * r:g} %" for r in RATIOS])
            ax.set_title(f"{dataset}, {encoder}", fontsize=9)
            if lines:
                ax.legend(fontsize=6)
            else:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes, color="grey")
        axes[i][0].set_ylabel(metric, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("training ratio of the pool", fontsize=8)
    fig.suptitle(f"fine-tuning after each pre-training: {metric} on the test set (mean ± std, "
                 f"{default_runs} runs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def plot_all(out: Path) -> int:
    """``pretraining_<metric>.png`` beside the results file ``out``, for Kendall tau and P@1 %."""
    records = read_records(out)
    for metric in ("kendall_tau", "precision_at_1pct"):
        plot_pretraining(records, metric, out.parent / f"pretraining_{metric}.png")
    return 0


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="raw data folder (../shared/data), needed for NB201's official cifar10 accuracies")
    ap.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    ap.add_argument("--encoders", default=",".join(ENCODERS), help=f"comma-separated, of {', '.join(ENCODERS)}")
    ap.add_argument("--pretrain", default=",".join(PRETRAIN), help=f"comma-separated, of {', '.join(PRETRAIN)}")
    ap.add_argument("--ratios", default=",".join(map(str, RATIOS)), help="training ratios of the pool")
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="permutation seeds of the pool protocol")
    ap.add_argument("--model-seeds", default=",".join(map(str, SEEDS)), help="training seeds, crossed with --seeds")
    ap.add_argument("--pretrain-epochs", type=int, help=f"default {pretrain.DEFAULT_EPOCHS} "
                                                        f"({QUICK_PRETRAIN_EPOCHS} with --quick); the paper: 200")
    ap.add_argument("--proxy", help="fgp labels: also rank this zero-cost proxy column (params, flops)")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: one run (seeds 21 x 21), {QUICK_PRETRAIN_EPOCHS} pre-training epochs")
    ap.add_argument("--resume", action="store_true", help="skip cells the results file already holds")
    ap.add_argument("--plot-only", action="store_true",
                    help="only redraw pretraining_kendall_tau.png and pretraining_precision_at_1pct.png "
                         "from the results file")
    ap.add_argument("--results", default=str(RESULTS), help="folder for pretraining.json")
    ap.add_argument("--cache", default=str(config.archrep_home() / "pretrained"),
                    help="folder of cached pre-trained encoders (default $ARCHREP_HOME/pretrained)")
    ap.add_argument("--device", default="cpu",
                    help="where pre-training and fine-tuning run: cpu, cuda or cuda:N (recorded as train_device)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared 2-core machine two threads can be far slower)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    datasets, encoders, methods = _csv(args.datasets), _csv(args.encoders), _csv(args.pretrain)
    for what, given, valid in (("dataset", datasets, DATASETS), ("encoder", encoders, ENCODERS),
                               ("pre-training method", methods, PRETRAIN)):
        unknown = sorted(set(given) - set(valid))
        if unknown:
            ap.error(f"unknown {what}(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    try:
        ratios = [float(r) for r in _csv(args.ratios)]
        seeds = [21] if args.quick else [int(s) for s in _csv(args.seeds)]
        model_seeds = [21] if args.quick else [int(s) for s in _csv(args.model_seeds)]
    except ValueError as exc:
        ap.error(f"--ratios / --seeds / --model-seeds: {exc}")
    epochs = args.pretrain_epochs or (QUICK_PRETRAIN_EPOCHS if args.quick else pretrain.DEFAULT_EPOCHS)
    settings = {"epochs": epochs, "batch_size": pretrain.DEFAULT_BATCH_SIZE, "lr": pretrain.DEFAULT_LR,
                "weight_decay": pretrain.DEFAULT_WEIGHT_DECAY, "seed": 0}
    out = Path(args.results) / "pretraining.json"
    cache = Path(args.cache)
    if args.plot_only:
        return plot_all(out)

    for name in datasets:
        ds = file_order(data.load(name, data_dir=args.data_dir), args.data_dir)
        target, pool = DATASETS[name], pool_size(ds)
        for encoder in encoders:
            model_variant, cfg = ENCODERS[encoder]
            for pre in methods:
                method, options = PRETRAIN[pre]
                if method == "fgp" and args.proxy:
                    options, pre = {**options, "proxy": args.proxy}, f"{pre}+{args.proxy}"
                for ratio in ratios:
                    n = train_size(pool, ratio)
                    probe = {"dataset": ds.name, "target": target, "train_size": n, "method": encoder,
                             "variant": pre, "model_variant": model_variant, "seeds": seeds,
                             "model_seeds": model_seeds,
                             "pretrain_epochs": epochs if method is not None else None}
                    if args.resume and _done(out, probe):
                        continue
                    init, seconds = None, 0.0
                    if method is not None:
                        init, enc = pretrained_encoder(ds, encoder, method, options, settings, cache, args.device)
                        seconds = enc.manifest["seconds"]
                    t0 = time.perf_counter()
                    exp = experiment.run(ds, target, encoder, train_size=n, protocol="pool", seeds=seeds,
                                         model_seeds=model_seeds, protocol_cfg={"pool_size": pool},
                                         model_cfg={**cfg, **FINE_TUNE, "device": args.device},
                                         variant=model_variant, init=init,
                                         metrics=METRICS, progress=False)
                    rec = exp.record(task="pretraining", encoder=encoder, pretrain=pre, model_variant=model_variant,
                                     ratio=ratio, pool_size=pool, pretrain_seconds=seconds,
                                     pretrain_git_commit=None if init is None else enc.manifest.get("git_commit"),
                                     pretrain_epochs=probe["pretrain_epochs"], pretrain_options=options,
                                     threads=args.threads, train_device=args.device)
                    rec["variant"] = pre  # the cell is (encoder, pre-training), whatever the model variant
                    write_records(out, [rec])  # after every cell: nothing lost on a crash
                    print(f"{ds.name:16s} {encoder:9s} {pre:16s} ratio {ratio:<5g} n={n:5d}  "
                          f"tau {rec['kendall_tau_mean']:.4f} ± {rec['kendall_tau_std']:.4f}  "
                          f"rho {rec['spearman_mean']:.4f}  P@1% {rec['precision_at_1pct_mean']:.3f}  "
                          f"P@5% {rec['precision_at_5pct_mean']:.3f}  ({time.perf_counter() - t0:.0f} s, "
                          f"pre-training {seconds:.0f} s)", flush=True)
    return plot_all(out)


if __name__ == "__main__":
    sys.exit(main())
