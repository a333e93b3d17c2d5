"""Training-free proxies against ground truth -> benchmarks/results/proxies.json (task ``proxies``).

``--dataset nb201`` (default): for ``--n`` NB201 cells (first the ~491 cells of
NAS-Bench-Suite-Zero's CIFAR-10 file, then a seeded random order of the others), each seed builds
the network (PyTorch default init from ``torch.manual_seed(seed)``) and scores it with every
requested proxy on real images (default: the 20 CIFAR-10 test images of foolbox).
``--dataset vit-tiny-fashion`` / ``vit-tiny-msa-fashion``: the same for the ViTs that
``benchmarks/vit_ground_truth.py`` trained here (records ``dataset`` ``vit-tiny`` /
``vit-tiny-msa``, target ``test_accuracy``; default inputs 20 Fashion-MNIST training images, the
data those nets were trained on). Records, one per proxy (and per spectral statistic for the NTK
family ``ntk``, ``vintk`` and their ``_msa`` / ``_ffn`` restrictions: variant ``cond``,
``lambda_max``, ``lambda_min``, ``trace``):

* target ``cifar10``: Spearman and Kendall tau (mean ± std over seeds) of the score, oriented
  so that higher predicts better (``higher_is_better`` says whether it was negated), with the
  official NB201 CIFAR-10 test accuracy (or the ViTs' accuracy); ``seconds_per_arch`` (mean per
  seed and cell, network build excluded; ``ntk`` and ``vintk`` of one weight set share one NTK
  computation, whose time both report; on a ViT one gradient pass serves all weight sets);
  the published Spearman where there is one (synflow .737, jacov .731: Abdelfattah et al. 2021,
  all 15,625 cells); a bootstrap 95 % interval of the Spearman over the cells (``spearman_ci95``);
  for each ViNTK proxy, its Spearman minus the NTK's of the same weights and statistic with a
  paired-bootstrap 95 % interval (``spearman_minus_ntk*``, ``p_not_better_than_ntk``);
* target ``suite-zero``: the rank agreement (raw scores) of ours with NAS-Bench-Suite-Zero's
  precomputed score of the same proxy on the cells both have (``zero_cost/zc_nasbench201.json``,
  CIFAR-10), with both sides' Spearman with the accuracy on those cells.

Per-cell scores go to ``proxies_scores.jsonl`` (``proxies_scores_<dataset>.jsonl`` for the
ViTs) beside the results, one line per scored cell and seed, written at once; ``--resume`` skips
what that file holds. ``--n`` bounds what is scored, while the records cover every cell the file
holds, so the slow NTK family can run on fewer cells than the others. The records are rewritten
every ``--write-every`` cells and at the end; a PNG (``proxies_<dataset>.png``) shows each
proxy's score rank against the accuracy.

    python benchmarks/proxies.py --data-dir ../shared/data --n 3000
    python benchmarks/proxies.py --n 30 --proxies synflow,jacov,ntk,vintk   # smoke run
    python benchmarks/proxies.py --dataset vit-tiny-fashion
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from archrep import data, nets, proxies
from archrep.data.vit_ground_truth import GROUND_TRUTH
from archrep.proxies.inputs import load_images
from archrep.proxies.ntk import KERNELS, PARAM_SETS, STATISTICS, spectral_statistics_by_set
from archrep.results import append_json_line, make_record, mean_std, write_records
from archrep.spaces.nb201 import NB201Space, arch_to_string
from archrep.spaces.nb201_cost import naslib_to_arch
from archrep.train.metrics import kendall_tau, spearman, spearman_bootstrap
from plotting import pyplot  # benchmarks/plotting.py, beside this script

RESULTS = Path(__file__).resolve().parent / "results"
#: NTK-family proxy -> (kernel, weight set); one NTK per weight set serves both kernels
SPECTRAL = {(k if w == "weight" else f"{k}_{w}"): (k, w) for k in KERNELS for w in PARAM_SETS}
DEFAULT_PROXIES = ("params", "flops", "grad_norm", "snip", "synflow", "jacov", "naswot", "ntk", "vintk")
VIT_PROXIES = DEFAULT_PROXIES + ("ntk_msa", "vintk_msa", "ntk_ffn", "vintk_ffn")
#: our proxy -> NAS-Bench-Suite-Zero's key
SUITE_ZERO = {"params": "params", "flops": "flops", "grad_norm": "grad_norm", "snip": "snip",
              "synflow": "synflow", "jacov": "jacov"}
PUBLISHED_SPEARMAN = {"synflow": 0.737, "jacov": 0.731}


def suite_zero_cells(data_dir: Path) -> dict[str, dict]:
    """arch string -> NAS-Bench-Suite-Zero's CIFAR-10 record, in file order."""
    raw = json.loads((data_dir / "zero_cost" / "zc_nasbench201.json").read_text())["nasbench201"]["cifar10"]
    return {arch_to_string(naslib_to_arch(ast.literal_eval(k))): v for k, v in raw.items()}


def cell_order(zc: dict, n: int) -> list[str]:
    rest = [arch_to_string(a) for a in NB201Space().enumerate()]
    rest = [a for a in rest if a not in zc]
    random.Random(0).shuffle(rest)
    return (list(zc) + rest)[:n]


def read_scores(path: Path) -> dict[tuple[int, str], dict]:
    """(seed, arch) -> {"scores": {...}, "seconds": {...}}, merged over the file's lines."""
    done: dict[tuple[int, str], dict] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                cell = done.setdefault((rec["seed"], rec["arch"]), {"scores": {}, "seconds": {}})
                cell["scores"].update(rec["scores"])
                cell["seconds"].update(rec["seconds"])
    return done


class Benchmark(NamedTuple):
    """What is scored: cells in order, their accuracy, how to build one, the records' labels."""

    dataset: str
    target: str
    cells: list[str]
    accuracy: dict[str, float]
    build: Callable[[str], torch.nn.Module]
    suite_zero: dict[str, dict]
    default_proxies: tuple[str, ...]
    default_inputs: str
    scores_file: str


def nb201_benchmark(data_dir: Path, n: int) -> Benchmark:
    ds = data.load("nb201", data_dir=data_dir)
    zc = suite_zero_cells(data_dir)
    return Benchmark("nb201", "cifar10", cell_order(zc, n), dict(zip(ds.keys.tolist(), ds.target("cifar10").tolist())),
                     nets.nb201_network, zc, DEFAULT_PROXIES, "cifar10", "proxies_scores.jsonl")


def vit_benchmark(name: str, n: int) -> Benchmark:
    ds = data.load(name)
    space = GROUND_TRUTH[name]
    keys = ds.keys.tolist()[:n]
    return Benchmark(space, "test_accuracy", keys, dict(zip(keys, ds.target("test_accuracy").tolist())),
                     lambda key: nets.vit_network(key, space), {}, VIT_PROXIES, "fashion-mnist-train",
                     f"proxies_scores_{name}.jsonl")


def score_cell(net: torch.nn.Module, seed: int, todo: list[str], x, y, batch: int) -> tuple[dict, dict]:
    scores, seconds = {}, {}
    spectral = [p for p in todo if p in SPECTRAL]
    if spectral:
        t = time.perf_counter()
        stats = spectral_statistics_by_set(net, x, tuple(dict.fromkeys(SPECTRAL[p][1] for p in spectral)),
                                           seed=seed, batch_size=batch)
        dt = time.perf_counter() - t
        for p in spectral:
            kernel, weights = SPECTRAL[p]
            scores[p], seconds[p] = stats[weights][kernel], dt
    for p in todo:
        if p not in SPECTRAL:
            t = time.perf_counter()
            scores[p] = proxies.score(p, net, x, y, seed=seed)
            seconds[p] = time.perf_counter() - t
    return scores, seconds


def oriented(proxy: str, variant: str) -> bool:
    return proxies.get(proxy).is_higher_better(**({"statistic": variant} if proxy in SPECTRAL else {}))


def make_records(done: dict, bench: Benchmark, seeds: list[int], inputs_desc: str, batch: int) -> list[dict]:
    """One record per proxy (and statistic) that ``done`` holds scores of, over every cell scored
    so far (not only the first ``--n``: a later run of other proxies on fewer cells must not
    shrink the records of the earlier ones)."""
    acc, zc = bench.accuracy, bench.suite_zero
    cells = [a for a in dict.fromkeys(arch for _, arch in done) if a in acc]
    todo = list(dict.fromkeys(p for a in cells for s in seeds for p in done.get((s, a), {}).get("scores", {})))
    records = []
    for p in todo:
        for variant in (STATISTICS if p in SPECTRAL else ("default",)):
            hib = oriented(p, variant)
            per_seed, secs, n_archs = {"spearman": [], "kendall_tau": []}, [], []
            ours_by_seed = []
            for s in seeds:
                have = [a for a in cells if p in done.get((s, a), {}).get("scores", {})]
                if len(have) < 3:
                    continue
                vals = np.array([_value(done[(s, a)]["scores"][p], variant) for a in have])
                truth = np.array([acc[a] for a in have])
                sign = 1.0 if hib else -1.0
                per_seed["spearman"].append(spearman(truth, sign * vals))
                per_seed["kendall_tau"].append(kendall_tau(truth, sign * vals))
                secs += [done[(s, a)]["seconds"][p] for a in have]
                n_archs.append(len(have))
                ours_by_seed.append(dict(zip(have, vals)))
            if not n_archs:
                continue
            common = dict(dataset=bench.dataset, method=p, variant=variant, seeds=seeds[:len(n_archs)],
                          higher_is_better=hib, inputs=inputs_desc, batch_size=batch)
            records.append(make_record(
                "proxies", target=bench.target, protocol="sampled-cells", n_archs=min(n_archs),
                **mean_std(per_seed["spearman"], "spearman"), **mean_std(per_seed["kendall_tau"], "kendall_tau"),
                seconds_per_arch=float(np.mean(secs)), **common, **sampling_spread(done, p, variant, acc, cells, seeds),
                **({"published_spearman": PUBLISHED_SPEARMAN[p]} if p in PUBLISHED_SPEARMAN else {})))
            if p in SUITE_ZERO and variant == "default":
                agree, ours_acc, theirs_acc, overlap = [], [], [], []
                for ours in ours_by_seed:
                    both = [a for a in ours if a in zc]
                    if len(both) < 3:
                        continue
                    o = np.array([ours[a] for a in both])
                    z = np.array([zc[a][SUITE_ZERO[p]] for a in both])
                    t = np.array([acc[a] for a in both])
                    agree.append((spearman(z, o), kendall_tau(z, o)))
                    ours_acc.append(spearman(t, o))
                    theirs_acc.append(spearman(t, z))
                    overlap.append(len(both))
                if agree:
                    records.append(make_record(
                        "proxies", target="suite-zero", protocol="suite-zero-cells", n_archs=min(overlap),
                        **mean_std([a[0] for a in agree], "spearman"), **mean_std([a[1] for a in agree], "kendall_tau"),
                        spearman_acc_ours=float(np.mean(ours_acc)), spearman_acc_suite_zero=float(np.mean(theirs_acc)),
                        suite_zero_key=SUITE_ZERO[p], **common))
    return records


def sampling_spread(done: dict, proxy: str, variant: str, acc: dict, cells: list[str], seeds: list[int]) -> dict:
    """Bootstrap evidence over the architectures (1,000 resamples of the cells scored under every
    seed; a resample's value is the mean over the seeds): ``spearman_ci95``, the 95 % interval of
    the Spearman; for a ViNTK proxy also its Spearman minus that of the NTK of the same weights and
    statistic (``spearman_minus_ntk``, the mean over seeds), the paired interval of that difference
    and the fraction of resamples where ViNTK is not better: the evidence for the paper's claim
    that ViNTK ranks better than NTK."""
    vs_ntk = proxy in SPECTRAL and SPECTRAL[proxy][0] == "vintk"
    ntk = next(q for q, kw in SPECTRAL.items() if kw == ("ntk", SPECTRAL[proxy][1])) if vs_ntk else None
    needed = {proxy, ntk} - {None}
    both = [a for a in cells if all(needed <= set(done.get((s, a), {}).get("scores", {})) for s in seeds)]
    if len(both) < 3:
        return {}
    sign = 1.0 if oriented(proxy, variant) else -1.0
    def scores(q):
        return sign * np.array([[_value(done[(s, a)]["scores"][q], variant) for a in both] for s in seeds])
    truth, ours = np.array([acc[a] for a in both]), scores(proxy)
    boot = spearman_bootstrap(truth, ours)
    out = {"spearman_ci95": _interval(boot), "n_archs_bootstrap": len(both)}
    if vs_ntk:
        base = scores(ntk)
        diff = boot - spearman_bootstrap(truth, base)
        out |= {"spearman_minus_ntk": float(np.mean([spearman(truth, o) - spearman(truth, b) for o, b in zip(ours, base)])),
                "spearman_minus_ntk_ci95": _interval(diff),
                "p_not_better_than_ntk": float(np.mean(diff[np.isfinite(diff)] <= 0))}
    return out


def _interval(values: np.ndarray) -> list[float]:
    values = values[np.isfinite(values)]
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def plot_scores(done: dict, bench: Benchmark, records: list[dict], path: Path) -> None:
    """One panel per proxy (condition number for the NTK family): the accuracy against the rank of
    the oriented score (seed 0), titled with the Spearman; skipped without matplotlib."""
    plt = pyplot()
    if plt is None:
        return
    shown = [r for r in records if r["target"] == bench.target and r["variant"] in ("default", "cond")]
    if not shown:
        return
    cols = min(4, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), squeeze=False)
    for ax, r in zip(axes.flat, shown):
        have = [a for a in dict.fromkeys(arch for _, arch in done)
                if a in bench.accuracy and r["method"] in done.get((0, a), {}).get("scores", {})]
        sign = 1.0 if r["higher_is_better"] else -1.0
        vals = sign * np.array([_value(done[(0, a)]["scores"][r["method"]], r["variant"]) for a in have])
        ax.scatter(np.argsort(np.argsort(vals)), [bench.accuracy[a] for a in have], s=3, alpha=0.4)
        ax.set_title(f"{r['method']}: Spearman {r['spearman_mean']:.3f}", fontsize=9)
        ax.set_xlabel("rank of score", fontsize=8)
        ax.set_ylabel(bench.target, fontsize=8)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.suptitle(f"{bench.dataset}: proxies against the ground truth", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def _value(score, variant: str) -> float:
    return score[variant] if isinstance(score, dict) else score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("ARCHREP_DATA_DIR"),
                    help="benchmark data folder (needs nb201/ and zero_cost/); default $ARCHREP_DATA_DIR")
    ap.add_argument("--dataset", default="nb201", choices=["nb201", *GROUND_TRUTH],
                    help="nb201 (official CIFAR-10 accuracy) or a ViT ground truth trained here")
    ap.add_argument("--n", type=int, default=3000, help="number of cells / networks (default 3000, or all ViTs)")
    ap.add_argument("--proxies", help=f"comma-separated proxies (default nb201: {','.join(DEFAULT_PROXIES)}; "
                                      f"ViTs: also {','.join(VIT_PROXIES[len(DEFAULT_PROXIES):])})")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1)")
    ap.add_argument("--inputs", help="image source of archrep.proxies.inputs (default cifar10 for nb201, "
                                     "fashion-mnist-train for the ViTs: Fashion-MNIST training images)")
    ap.add_argument("--batch", type=int, default=20, help="images per proxy batch (default 20)")
    ap.add_argument("--resume", action="store_true", help="skip cells the scores file already holds")
    ap.add_argument("--write-every", type=int, default=100, help="rewrite the records every N cells (default 100)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    if args.dataset == "nb201" and not args.data_dir:
        ap.error("set --data-dir or ARCHREP_DATA_DIR to the benchmark data folder (../shared/data)")
    torch.set_num_threads(args.threads)
    bench = nb201_benchmark(Path(args.data_dir), args.n) if args.dataset == "nb201" else vit_benchmark(args.dataset, args.n)
    todo = [p.strip() for p in (args.proxies or ",".join(bench.default_proxies)).split(",") if p.strip()]
    for p in todo:
        proxies.get(p)  # unknown names fail here, listing the valid ones
    seeds = list(range(args.seeds))
    source = args.inputs or bench.default_inputs
    images = load_images(source, args.batch)
    x, y = images.x.to(args.device), images.y.to(args.device)
    inputs_desc = f"{source}:{len(x)}"
    results = Path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    out, scores_path = results / "proxies.json", results / bench.scores_file
    if not args.resume and scores_path.exists():
        scores_path.unlink()
    done = read_scores(scores_path)
    work = [(seed, arch, [p for p in todo if p not in done.get((seed, arch), {}).get("scores", {})])
            for seed in seeds for arch in bench.cells]
    work = [w for w in work if w[2]]
    with tqdm(work, unit="cell", desc=f"{bench.dataset} {','.join(todo)}") as bar:
        for count, (seed, arch, missing) in enumerate(bar, 1):
            torch.manual_seed(seed)
            net = bench.build(arch).to(args.device)
            scores, seconds = score_cell(net, seed, missing, x, y, args.batch)
            append_json_line(scores_path, {"seed": seed, "arch": arch, "scores": scores, "seconds": seconds})
            cell = done.setdefault((seed, arch), {"scores": {}, "seconds": {}})
            cell["scores"].update(scores)
            cell["seconds"].update(seconds)
            if count % args.write_every == 0:
                write_records(out, make_records(done, bench, seeds, inputs_desc, args.batch))
    records = make_records(done, bench, seeds, inputs_desc, args.batch)
    write_records(out, records)
    plot_scores(done, bench, records, results / f"proxies_{bench.dataset}.png")
    for r in records:
        extra = (f"  ours~acc {r['spearman_acc_ours']:.3f} theirs~acc {r['spearman_acc_suite_zero']:.3f}"
                 if r["target"] == "suite-zero" else f"  {r['seconds_per_arch']:.3f} s/arch")
        print(f"{r['target']:10s} {r['method']:9s} {r['variant']:10s} n={r['n_archs']:5d} "
              f"spearman {r['spearman_mean']:+.3f} kendall {r['kendall_tau_mean']:+.3f}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
