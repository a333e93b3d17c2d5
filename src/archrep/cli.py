"""The ``archrep`` command line: thin subcommands that parse, call the library and print.

    archrep demo                       train the baselines on NB201's packaged data, print a table
    archrep data list | info NAME      the registered datasets and what they hold
    archrep models list | info NAME    the registered predictors, their hyper-parameters and variants
    archrep train --data nb201 --model gin --train-size 781 --seeds 3 --out DIR [--init PRE]
    archrep pretrain --method fgp --data nb201 --encoder gin --out PRE   pre-train an encoder (FGP)
    archrep eval --checkpoint DIR/seed_0 --data nb201
    archrep predict --checkpoint DIR/seed_0 '|nor_conv_3x3~0|+|...'  graph.json
    archrep tokenize --data nb201 --out nb201_tokens.npz   TART's LAP tokens of every architecture
    archrep profile MODEL.onnx [--precision fp32|int8|bf16] [--threads N] [--store URL]   measure latency
    archrep predict-latency MODEL.onnx --checkpoint DIR [--platform TEXT]   predict its latency
    archrep latency-dataset build|extend|info --store URL ...   profile the model zoo into a LatencyStore
    archrep latency-dataset export|import --store URL [--out FILE]   the zoo-latency dataset file <-> a store
    archrep proxy --space nb201 --proxy vintk --n 1000 --out FILE   score archs with a training-free proxy
    archrep search --space vit-tiny --strategy evolution --proxy vintk --budget-params 5e6   proxy-driven search
    archrep generate --space nb101 --n 1000 --temperature 1.0 --out FILE   Arch-LLM: new valid architectures
    archrep search --space nb201 --strategy llm-fill --oracle cifar10   NAS with Arch-LLM's fill mutation

Every command that computes numbers prints a table and writes JSON; errors on bad input are one
line naming the input and the fix (exit status 2).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from archrep.errors import ArchrepError

DEMO_METHODS = ("params", "flops", "mlp", "gin")


# ---------------------------------------------------------------------------- helpers
def _print_table(rows: list[dict], columns: Sequence[str], title: str | None = None) -> None:
    """A plain fixed-width table on stdout."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    if title:
        print(title)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))


def _pm(rec: dict, metric: str) -> str:
    return f"{rec[metric + '_mean']:.4f} ± {rec[metric + '_std']:.4f}"


def _parse_seeds(text: str) -> list[int]:
    """'3' -> [0, 1, 2]; '0,5,7' -> [0, 5, 7]."""
    try:
        if "," in text:
            return [int(s) for s in text.split(",") if s.strip()]
        n = int(text)
    except ValueError:
        raise ArchrepError(f"--seeds {text!r}: give a count (3) or a comma-separated list (0,1,2)") from None
    if n < 1:
        raise ArchrepError(f"--seeds {text!r}: need at least one seed")
    return list(range(n))


def _parse_sets(items: Sequence[str] | None) -> dict:
    """``--set hidden=64 --set lr=1e-3`` -> {'hidden': 64, 'lr': 0.001} (values parsed as JSON if they can be)."""
    cfg: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ArchrepError(f"--set {item!r}: expected KEY=VALUE, e.g. --set epochs=50")
        try:
            cfg[key] = json.loads(value)
        except json.JSONDecodeError:
            cfg[key] = value
    return cfg


def _write_json(path: Path, obj) -> None:
    from archrep.data.cache import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(obj, indent=1) + "\n").encode())


def _run_table(experiments, out: Path | None, title: str) -> list[dict]:
    records = [e.record() for e in experiments]
    rows = [{"method": r["method"] + ("" if r["variant"] == "default" else f" ({r['variant']})"),
             "target": r["target"], "train_size": r["train_size"],
             "seeds": len(r["seeds"]), "kendall_tau": _pm(r, "kendall_tau"),
             "spearman": _pm(r, "spearman"), "archs/s": f"{r['archs_per_second']:,.0f}",
             "fit s": f"{r['seconds']:.1f}"} for r in records]
    print()
    _print_table(rows, list(rows[0]), title)
    if out is not None:
        _write_json(out / "results.json", records)
        print(f"\nwrote {out / 'results.json'}")
    return records


# ---------------------------------------------------------------------------- commands
def cmd_data_list(args) -> int:
    from archrep import data

    rows = [{"name": n, "description": data.DATASETS.get(n).description} for n in data.list_datasets(args.pattern)]
    _print_table(rows, ["name", "description"])
    return 0


def _first_sentence(doc: str | None, width: int = 110) -> str:
    """The first sentence of a docstring on one line, cut to ``width`` characters."""
    text = " ".join((doc or "").split())
    end = text.find(". ")
    text = text if end < 0 else text[:end + 1]
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def cmd_models_list(args) -> int:
    from archrep import models

    rows = [{"name": n, "variants": ", ".join(v for v in models.variants(n) if v != "default") or "-",
             "description": _first_sentence(models.MODELS.get(n).__doc__)} for n in models.list_models(args.pattern)]
    if not rows:
        raise ArchrepError(f"no predictor matches {args.pattern!r}; 'archrep models list' shows them all")
    _print_table(rows, ["name", "variants", "description"])
    return 0


def cmd_models_info(args) -> int:
    from archrep import models

    cls = models.MODELS.get(args.name)  # unknown names list the valid ones
    info = {"name": args.name, "description": _first_sentence(cls.__doc__),
            "hyperparameters": models.hyperparameters(args.name), "variants": models.variants(args.name)}
    if args.json:
        print(json.dumps(info, indent=1, default=str))
        return 0
    print(f"{args.name}: {info['description']}")
    _print_table([{"hyper-parameter": k, "default": json.dumps(v, default=str),
                   "choices": ", ".join(map(str, cls.choices.get(k, ())))} for k, v in info["hyperparameters"].items()],
                 ["hyper-parameter", "default", "choices"])
    print()
    _print_table([{"variant": k, "changes": json.dumps(v, default=str) if v else "(the defaults)"}
                  for k, v in info["variants"].items()], ["variant", "changes"])
    return 0


def cmd_data_info(args) -> int:
    from archrep import data

    ds = data.load(args.name, data_dir=args.data_dir, refresh=args.refresh)
    info = ds.summary()
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{info['name']}: {info['archs']:,} architectures, space {info['space']}, "
          f"up to {info['max_nodes']} nodes, ops {', '.join(info['op_vocab'])}")
    rows = [{"target": t + (" (default)" if t == info["default_target"] else ""), "count": v["count"],
             "min": f"{v['min']:.4g}" if v["min"] is not None else "", "max": f"{v['max']:.4g}" if v["max"] is not None else "",
             "description": v["description"]} for t, v in info["targets"].items()]
    _print_table(rows, ["target", "count", "min", "max", "description"])
    for t, why in (info["meta"].get("missing_targets") or {}).items():
        print(f"not available: {t}: {why}")
    print(f"cache: {data.cache_path(args.name, args.data_dir)}")
    return 0


def cmd_train(args) -> int:
    from archrep import data, experiment, models

    ds = data.load(args.data, data_dir=args.data_dir)
    target = args.target or ds.default_target
    cfg = _parse_sets(args.set)
    if args.epochs is not None:
        if "epochs" not in models.hyperparameters(args.model):
            raise ArchrepError(f"--epochs: model {args.model!r} is not trained by epochs; drop --epochs")
        cfg["epochs"] = args.epochs
    if args.device != "cpu":
        cfg["device"] = args.device
    out = Path(args.out) if args.out else None
    exp = experiment.run(ds, target, args.model, train_size=args.train_size, protocol=args.protocol,
                         seeds=_parse_seeds(args.seeds), model_cfg=cfg, variant=args.variant, out_dir=out,
                         progress=not args.no_progress, init=args.init)
    _run_table([exp], out, f"{args.model} on {args.data} / {target} ({args.protocol}, test on "
                           f"{'all' if args.protocol == 'space-fraction' else 'held-out'} archs)")
    return 0


def cmd_pretrain(args) -> int:
    from archrep import data, pretrain

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ArchrepError(f"--out {args.out!r} is a file; give a folder for the pre-trained encoder")
    options = {}
    if args.proxy is not None:
        options["proxy"] = args.proxy
    if args.standardize:
        options["standardize"] = True
    ds = data.load(args.data, data_dir=args.data_dir)
    if args.max_archs is not None:
        if args.max_archs < 2:
            raise ArchrepError(f"--max-archs {args.max_archs}: pre-training needs at least 2 architectures")
        ds = ds.subset(range(min(args.max_archs, len(ds))))
    enc = pretrain.pretrain(ds, args.encoder, args.method, encoder_cfg=_parse_sets(args.set), variant=args.variant,
                            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                            progress=not args.no_progress, device=args.device, **options)
    enc.save(out)
    final = enc.manifest["final"]
    row = {"method": args.method, "encoder": args.encoder, "data": f"{ds.name} ({len(ds):,} archs)",
           "epochs": args.epochs, **{k: f"{v:.4g}" for k, v in final.items() if k not in ("epoch", "seconds")},
           "seconds": f"{enc.manifest['seconds']:.1f}"}
    print()
    _print_table([row], list(row), "pre-training (final epoch, training set)")
    print(f"\nwrote {out}; fine-tune with: archrep train --data {args.data} --model {args.encoder} --init {out} ...")
    return 0


def cmd_demo(args) -> int:
    from archrep import data, experiment

    print("Loading NAS-Bench-201 from the analog-nasbench package (no download)...")
    ds = data.load("nb201", data_dir=args.data_dir)
    target = args.target
    seeds = _parse_seeds(args.seeds)
    exps = []
    for method in args.methods.split(","):
        print(f"training {method} on {args.train_size} architectures x {len(seeds)} seeds...")
        exps.append(experiment.run(ds, target, method.strip(), train_size=args.train_size,
                                   seeds=seeds, progress=not args.no_progress))
    _run_table(exps, Path(args.out), f"NB201 {target}: {args.train_size} training architectures, "
                                     f"Kendall tau / Spearman on all {len(ds):,} cells (space-fraction protocol)")
    return 0


def cmd_tokenize(args) -> int:
    import io

    import numpy as np

    from archrep import data
    from archrep.data.cache import atomic_write_bytes
    from archrep.features.lap import tart_token_columns, tart_tokens

    out = Path(args.out)
    if out.is_dir():
        raise ArchrepError(f"--out {args.out!r} is a folder; give a file path such as {out / 'tokens.npz'}")
    if out.suffix != ".npz":
        raise ArchrepError(f"--out {args.out!r}: the tokens are written as NumPy .npz; give a file name ending in .npz")
    if out.parent.exists() and not out.parent.is_dir():
        raise ArchrepError(f"--out {args.out!r}: {str(out.parent)!r} is a file, not a folder; choose another path")
    if args.dp < 1:
        raise ArchrepError(f"--dp {args.dp}: give a positive number of eigenvector entries per node (TART uses 3)")
    ds = data.load(args.data, data_dir=args.data_dir)
    tokens, mask = tart_tokens(ds.ops, ds.adj, args.dp, args.op_features, len(ds.op_vocab), args.layout)
    layout = {"format": "archrep.tart_tokens", "format_version": 1, "dataset": ds.name, "space": ds.space,
              "dp": args.dp, "op_features": args.op_features, "layout": args.layout, "op_vocab": list(ds.op_vocab),
              "columns": tart_token_columns(args.dp, args.op_features, ds.op_vocab, args.layout),
              "order": "per architecture: its node tokens in topological order, then one token per edge u->v "
                       "in (u, v) row-major order, then padding (token_mask False, all zeros)",
              "op_index": "(op index in op_vocab + 1) / len(op_vocab)",
              "endpoint_index": "topological index / (number of real nodes - 1)",
              "eigenvectors": "normalised Laplacian of the symmetrised DAG, ascending eigenvalue, signs as eigh "
                              "returns them (no random flip)"}
    buf = io.BytesIO()
    np.savez(buf, tokens=tokens.numpy(), token_mask=mask.numpy(),
             keys=np.array(ds.keys, dtype=str), layout=np.array(json.dumps(layout)))
    try:
        atomic_write_bytes(out, buf.getvalue())
    except OSError as exc:
        raise ArchrepError(f"--out {args.out!r} cannot be written ({exc.strerror or exc}); choose a writable path") from None
    print(f"wrote {out}: {tokens.shape[0]:,} architectures x {tokens.shape[1]} tokens x {tokens.shape[2]} "
          f"columns ({', '.join(layout['columns'])})")
    return 0


def _load_checkpoint(path: str):
    from archrep import models

    return models.load(path)


def cmd_eval(args) -> int:
    from archrep import data
    from archrep.train.metrics import evaluate

    model = _load_checkpoint(args.checkpoint)
    ds = data.load(args.data, data_dir=args.data_dir)
    target = args.target or model.target or ds.default_target
    ds = ds.with_target(target)
    pred = model.predict(ds)
    scores = evaluate(ds.target(target), pred, args.metrics.split(","))
    _print_table([{"metric": k, "value": f"{v:.4f}"} for k, v in scores.items()], ["metric", "value"],
                 f"{args.checkpoint} on {args.data} / {target} ({len(ds):,} archs)")
    if args.out:
        _write_json(Path(args.out), {"checkpoint": args.checkpoint, "dataset": args.data,
                                     "target": target, "archs": len(ds), **scores})
    return 0


def _read_arch_inputs(items: Sequence[str], space_name: str | None):
    """Arch strings of the checkpoint's space, JSON graphs, or paths to JSON graph files."""
    from archrep import spaces
    from archrep.graph import ArchGraph

    space = spaces.get(space_name) if space_name else None
    labels, graphs = [], []
    for item in items:
        text = item
        path = Path(item)
        if item.endswith(".json") and path.exists():
            text = path.read_text()
        if text.lstrip().startswith(("{", "[")):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ArchrepError(f"{item}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
            for k, d in enumerate(obj if isinstance(obj, list) else [obj]):
                graphs.append(ArchGraph.from_dict(d))
                labels.append(f"{item}[{k}]" if isinstance(obj, list) else item)
        else:
            if space is None:
                raise ArchrepError(f"{item!r}: this checkpoint has no search space; pass JSON graphs instead")
            graphs.append(space.to_graph(space.parse(item)))
            labels.append(space.key(space.parse(item)))
    return labels, graphs


def cmd_predict(args) -> int:
    from archrep.data.dataset import ArchDataset

    model = _load_checkpoint(args.checkpoint)
    info = model.data_info
    labels, graphs = _read_arch_inputs(args.archs, info.get("space"))
    ds = ArchDataset.from_graphs("predict", labels, graphs, {}, op_vocab=info["op_vocab"],
                                 max_nodes=max([info.get("max_nodes") or 0] + [g.num_nodes for g in graphs]),
                                 space=info.get("space"))
    pred = model.predict(ds)
    rows = [{"architecture": lab, "prediction": f"{p:.4f}"} for lab, p in zip(labels, pred)]
    if args.json:
        print(json.dumps([{"architecture": lab, "prediction": float(p)} for lab, p in zip(labels, pred)], indent=1))
    else:
        _print_table(rows, ["architecture", "prediction"], f"{model.name} predicts {model.target}")
    return 0


# ---------------------------------------------------------------------------- latency
def _platform(runtime: str, precision: str, threads: int, device: str = "cpu"):
    from archrep.latency import detect
    from archrep.latency.platform import DEVICES

    if threads < 1:
        raise ArchrepError(f"--threads {threads}: need at least one thread")
    if device not in DEVICES:
        raise ArchrepError(f"device {device!r}: use one of {', '.join(DEVICES)}")
    return detect(runtime=runtime, precision=precision, threads=threads, device=device)


def cmd_profile(args) -> int:
    from archrep.io import from_onnx
    from archrep.latency import LatencyStore, profile

    platform = _platform(args.runtime, args.precision, args.threads, args.device)
    if args.kernels is not None and args.kernels < 1:
        raise ArchrepError(f"--kernels {args.kernels}: give how many kernels to list (1 or more)")
    if args.kernels is not None and platform.runtime != "onnxruntime":
        raise ArchrepError(f"--kernels reads onnxruntime's profiler; --runtime {platform.runtime} has none here: "
                           "use --runtime onnxruntime")
    m = profile(args.model, platform, batch=args.batch, repeats=args.repeats)
    row = {"model": args.model, "median_ms": round(m.median_ms, 4), "iqr_ms": round(m.iqr_ms, 4),
           "min_ms": round(m.min_ms, 4), "spread": f"{100 * m.rel_spread:.1f}%", "rounds": m.rounds, "batch": m.batch}
    kernels = None
    if args.kernels is not None:
        from archrep.latency.kernels import profile_kernels

        kernels = profile_kernels(args.model, platform, batch=args.batch, repeats=args.repeats)
    if args.json:
        print(json.dumps({"model": args.model, "platform": platform.id, **m.to_dict(),
                          **({"kernels": kernels.to_dict()} if kernels else {})}, indent=1))
    else:
        _print_table([row], list(row), f"{platform.template(m.batch)}  [{platform.id}]")
        if kernels:
            _print_kernels(kernels, args.kernels)
    if args.store:
        with LatencyStore(args.store) as store:
            graph = from_onnx(args.model, batch=args.batch)
            stored = store.add(graph, m, platform, family=args.family)
        print(f"{'stored in' if stored else 'already in'} {args.store} (graph {graph.hash()[:12]})", file=sys.stderr)
    return 0


def _print_kernels(kp, top: int) -> None:
    """The ``top`` slowest kernels of a KernelProfile, then the time per op type."""
    slowest = sorted(kp.kernels, key=lambda k: -k.median_ms)[:top]
    print()
    _print_table([{"kernel": k.name, "op": k.op_type, "ms": f"{k.median_ms:.4f}", "share": f"{100 * k.share:.1f}%"}
                  for k in slowest], ["kernel", "op", "ms", "share"],
                 f"{len(slowest)} slowest of {len(kp.kernels)} kernels (median of {kp.runs} profiled runs of "
                 f"{kp.run_ms:.4f} ms; kernels sum to {kp.kernel_ms:.4f} ms)")
    print()
    _print_table([{"op": op, "ms": f"{ms:.4f}", "share": f"{100 * ms / kp.run_ms:.1f}%"} for op, ms in kp.by_op().items()],
                 ["op", "ms", "share"], "per op type")


def _onnx_dataset(path: str, model, platform: str | None):
    """The ArchDataset of one ONNX model for ``model`` (a fitted predictor): the checkpoint's op
    vocabulary, cost columns ``flops`` / ``memory`` (MB of traffic) / ``params`` in millions and
    ``batch``, the per-node features of real models (as zoo-latency has them), and for a model
    trained on several platforms the platform text as a one-row stacked dataset."""
    from archrep.data.dataset import ArchDataset
    from archrep.io import from_onnx
    from archrep.latency.stacked import PLATFORM_COLUMN, TEXTS_META
    from archrep.models.latency import MEMORY_COLUMN

    graph = from_onnx(path)
    info = model.data_info
    costs = {"flops": graph.attrs["flops"] / 1e6, MEMORY_COLUMN: graph.attrs["mem_bytes"] / 1e6,
             "params": graph.attrs["params"] / 1e6, "batch": float(graph.attrs["batch"])}
    targets = {k: [v] for k, v in costs.items()}
    meta = {}
    if info.get("row_platforms"):
        text = platform or _platform("onnxruntime", "fp32", 1).template(1)
        targets[PLATFORM_COLUMN], meta[TEXTS_META] = [0.0], [text]
    elif platform:
        raise ArchrepError(f"checkpoint {model.name!r} was trained for one platform (its platform text is fixed); "
                           "--platform needs a model trained on several platforms (a stacked dataset, "
                           "archrep.latency.stacked.stack_settings)")
    unknown = sorted(set(graph.ops) - set(info["op_vocab"]))
    if unknown:
        raise ArchrepError(f"{path}: ops {unknown} are not in the checkpoint's op vocabulary "
                           f"({', '.join(info['op_vocab'])}); use a predictor trained on ONNX graphs that have them")
    # the per-node features a model trained on real models reads (its own names; every one otherwise)
    names = (info.get("node_features") or {}).get("names") or True
    ds = ArchDataset.from_graphs(Path(path).name, [Path(path).name], [graph], targets, op_vocab=info["op_vocab"],
                                 max_nodes=max(info.get("max_nodes") or 0, graph.num_nodes), meta=meta,
                                 node_features=names)
    return ds, costs


def cmd_predict_latency(args) -> int:
    model = _load_checkpoint(args.checkpoint)
    ds, costs = _onnx_dataset(args.model, model, args.platform)
    pred = float(model.predict(ds)[0])
    out = {"model": args.model, "predictor": model.name, "target": model.target, "prediction": pred,
           "platform": (ds.meta.get("platform_texts") or [None])[0], **{k: round(v, 4) for k, v in costs.items()}}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print_table([{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in out.items() if v is not None}],
                     [k for k, v in out.items() if v is not None])
    return 0


def platform_specs(text: str) -> list:
    """'onnxruntime:fp32:1,torch:fp16:1:cuda' -> Platforms of this machine
    (runtime:precision:threads, then :cpu or :cuda; cpu when left out)."""
    out = []
    for spec in [t.strip() for t in text.split(",") if t.strip()]:
        parts = spec.split(":")
        if len(parts) not in (3, 4) or not parts[2].isdigit():
            raise ArchrepError(f"--platforms {spec!r}: expected RUNTIME:PRECISION:THREADS[:DEVICE], e.g. "
                               "onnxruntime:int8:1 or torch:fp16:1:cuda")
        out.append(_platform(parts[0], parts[1], int(parts[2]), *parts[3:]))
    if not out:
        raise ArchrepError("--platforms: give at least one RUNTIME:PRECISION:THREADS[:DEVICE]")
    return out


def zoo_jobs(per_family: int, families: Sequence[str] | None, seed: int) -> list[tuple[str, dict]]:
    """``per_family`` sampled configs of each zoo family; job i of a family depends only on (seed,
    family, i), so a larger ``per_family`` keeps the first jobs and adds new ones (extending a dataset).
    Ordered round-robin over the families (every family's job i before any job i + 1), so a run
    stopped halfway leaves every family with about as many models."""
    import random

    from archrep.zoo import families as zoo

    names = list(families) if families else zoo.list()
    for name in names:
        zoo.get(name)  # unknown names list the valid ones
    if per_family < 1:
        raise ArchrepError(f"--per-family {per_family}: need at least one model per family")
    return [(name, zoo.get(name).sample_config(random.Random(f"{seed}/{name}/{i}")))
            for i in range(per_family) for name in names]


def cmd_latency_dataset(args) -> int:
    from archrep.data.zoo_latency import DEFAULT_FILE
    from archrep.latency import LatencyStore, profile_jobs
    from archrep.latency.profiler import UnsupportedPlatformError

    if args.action in ("info", "extend", "export") and "://" not in args.store and not Path(args.store).exists():
        raise ArchrepError(f"--store {args.store!r} does not exist; create it with 'archrep latency-dataset build'"
                           + (" or 'archrep latency-dataset import'" if args.action != "info" else ""))
    if args.action in ("build", "extend"):  # bad settings fail before the store is created or opened
        if args.passes < 1:
            raise ArchrepError(f"--passes {args.passes}: measure each model at least once (--passes 1 or more)")
        platforms = platform_specs(args.platforms)
        for platform in platforms:
            if platform.unsupported_reason():
                raise UnsupportedPlatformError(platform.unsupported_reason())
        families = [f.strip() for f in args.families.split(",")] if args.families else None
        jobs = zoo_jobs(args.per_family, families, args.seed)
    with LatencyStore(args.store) as store:
        if args.action == "export":
            out = Path(args.out) if args.out else DEFAULT_FILE
            counts = store.export(out)
            print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): {counts['graphs']} graphs, "
                  f"{counts['platforms']} platforms, {counts['measurements']} measurements")
            return 0
        if args.action == "import":
            src = Path(args.out) if args.out else DEFAULT_FILE
            written = store.import_(src)
            print(f"read {src} into {store.name}: new rows {', '.join(f'{k} {v}' for k, v in written.items())}")
        elif args.action != "info":
            counts = profile_jobs(store, jobs, platforms, passes=args.passes, progress=not args.no_progress,
                                  repeats=args.repeats)
            for pid, c in counts.items():
                print(f"{pid}: measured {c['measured']}, already there {c['skipped']}")
        platforms = store.platforms()
        rows = []
        for pid, platform in platforms.items():
            ms = store.measurements(pid)
            keys = {(m["graph_hash"], m["batch"]): m["family"] or "-" for m in ms}
            by_family: dict[str, int] = {}
            for family in keys.values():
                by_family[family] = by_family.get(family, 0) + 1
            rows.append({"platform": pid, "models": len(keys), "passes (mean)": f"{len(ms) / max(len(keys), 1):.2f}",
                         "families": len(by_family),
                         "per family": ", ".join(f"{k} {v}" for k, v in sorted(by_family.items()))})
        counts = store.counts()
        _print_table(rows, ["platform", "models", "passes (mean)", "families", "per family"],
                     f"{args.store}: {counts['graphs']} graphs, {counts['platforms']} platforms, "
                     f"{counts['measurements']} measurements")
    return 0


# ---------------------------------------------------------------------------- proxies and search
def _proxy_inputs(args):
    from archrep.proxies.inputs import load_images

    return load_images(args.inputs, args.batch, seed=args.seed)


def _proxy_archs(space, n: int, seed: int) -> list:
    """``n`` distinct archs: a seeded shuffle of the whole space when it is finite, else samples."""
    import random

    rng = random.Random(seed)
    if space.finite:
        archs = list(space.enumerate())
        rng.shuffle(archs)
        return archs[:n]
    seen: dict[str, object] = {}
    for _ in range(50 * n):
        if len(seen) == n:
            break
        a = space.sample(rng)
        seen.setdefault(space.key(a), a)
    return list(seen.values())


def _read_scores_file(path: Path, space: str, proxy: str, seed: int, inputs: str) -> dict[str, dict]:
    """arch key -> line of an existing ``archrep proxy`` file (a torn last line is dropped and the
    file rewritten atomically without it); a file of another space/proxy/seed is an error."""
    from archrep.data.cache import atomic_write_bytes

    done: dict[str, dict] = {}
    lines = path.read_text().splitlines(keepends=True)
    good = []
    for line in lines:
        try:
            rec = json.loads(line)
            if not line.endswith("\n"):
                raise ValueError("torn line")
        except ValueError:
            continue
        have = tuple(rec.get(k) for k in ("space", "proxy", "seed", "inputs"))
        if have != (space, proxy, seed, inputs):
            raise ArchrepError(f"--out {path} holds scores of space/proxy/seed/inputs {'/'.join(map(str, have))}, "
                               f"not {space}/{proxy}/{seed}/{inputs}: choose another --out")
        done[rec["arch"]] = rec
        good.append(line)
    if len(good) != len(lines):
        atomic_write_bytes(path, "".join(good).encode())
    return done


def cmd_proxy(args) -> int:
    import time

    import torch
    from tqdm.auto import tqdm

    from archrep import nets, proxies, spaces

    space = spaces.get(args.space)
    nets.BUILDERS.get(args.space)  # a space without networks fails here, listing the ones with
    spec = proxies.get(args.proxy)
    if args.n < 1:
        raise ArchrepError(f"--n must be at least 1, got {args.n}")
    out = Path(args.out)
    images = _proxy_inputs(args)
    x, y = images.x.to(args.device), images.y.to(args.device)
    inputs = f"{images.source}:{len(x)}"
    done = _read_scores_file(out, args.space, args.proxy, args.seed, inputs) if out.exists() else {}
    archs = _proxy_archs(space, args.n, args.seed)
    todo = [a for a in archs if space.key(a) not in done]
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(out, "a") as f:
        for arch in tqdm(todo, desc=f"{args.proxy} on {args.space}", disable=args.no_progress, unit="arch"):
            t = time.perf_counter()
            torch.manual_seed(args.seed)
            net = nets.network(args.space, arch).to(args.device)
            value = spec(net, x, y, seed=args.seed)
            rec = {"space": args.space, "arch": space.key(arch), "proxy": args.proxy, "score": value,
                   "higher_is_better": spec.is_higher_better(), "seed": args.seed,
                   "inputs": inputs, "seconds": round(time.perf_counter() - t, 6)}
            f.write(json.dumps(rec) + "\n")  # one write per line: a line is whole or torn, never mixed
            f.flush()
            done[rec["arch"]] = rec
    keys = [space.key(a) for a in archs]
    sign = 1.0 if spec.is_higher_better() else -1.0
    top = sorted(keys, key=lambda k: -sign * done[k]["score"])[:5]
    _print_table([{"rank": i + 1, "arch": k, args.proxy: f"{done[k]['score']:.6g}"} for i, k in enumerate(top)],
                 ["rank", "arch", args.proxy],
                 f"{args.proxy} on {len(keys)} {args.space} archs ({len(todo)} scored now, {len(keys) - len(todo)} "
                 f"already in {out}; {'higher' if sign > 0 else 'lower'} is better); top 5:")
    if todo:
        print(f"\n{(time.perf_counter() - t0) / len(todo):.3f} s per arch; wrote {out}")
    return 0


def _archllm(args):
    """The Arch-LLM of ``args.model``, or the cached default of ``args.space`` (trained on first use)."""
    from archrep.generate import archllm

    if args.model:
        return archllm.ArchLLM.load(args.model, device=args.device)
    print(f"Arch-LLM of {args.space}: loading the cached model, or training it on first use "
          f"({archllm.DEFAULT_TRAIN.get(args.space, '?')} cells)", file=sys.stderr)
    return archllm.cached(args.space, device=args.device, verbose=not args.no_progress)


def cmd_generate(args) -> int:
    from archrep.generate.archllm import training_keys
    from archrep.train.metrics import generation_metrics

    model = _archllm(args)
    if model.space != args.space:
        raise ArchrepError(f"--model {args.model} is an Arch-LLM of {model.space!r}, not of --space {args.space!r}")
    if args.n < 1:
        raise ArchrepError(f"--n must be at least 1, got {args.n}")
    g = model.generate(args.n, temperature=args.temperature, seed=args.seed)
    metrics = generation_metrics(g.keys, training_keys(model))
    _print_table([{k: f"{v:.4f}" for k, v in metrics.items()} | {"invalid": json.dumps(g.invalid),
                                                                  "seconds": f"{g.seconds:.1f}"}],
                 [*metrics, "invalid", "seconds"], f"{args.n} samples of {args.space} at temperature {args.temperature}")
    _write_json(Path(args.out), {"space": args.space, "n": args.n, "temperature": args.temperature, "seed": args.seed,
                                 "model": args.model, "metrics": metrics, "invalid": g.invalid,
                                 "keys": g.keys})
    print(f"\nwrote {args.out} ({sum(k is not None for k in g.keys)} valid architectures; null = invalid)")
    return 0


def cmd_search(args) -> int:
    from tqdm.auto import tqdm

    from archrep import nets, search, spaces

    space = spaces.get(args.space)
    strategy = search.get(args.strategy)
    if args.oracle:
        obj = search.OracleObjective.from_dataset(space, args.space, args.oracle, data_dir=args.data_dir)
    else:
        nets.BUILDERS.get(args.space)
        obj = search.ProxyObjective(space, args.proxy, _proxy_inputs(args), seed=args.seed, device=args.device,
                                    cache_path=args.cache)
    kw = {"population": args.population, "sample_size": args.sample_size} if args.strategy != "random" else {}
    if args.strategy == "llm-fill":
        kw.update(model=_archllm(args), masked=args.masked, temperature=args.temperature)
    with tqdm(total=args.queries, desc=f"{args.strategy} ({obj.name}) on {args.space}", disable=args.no_progress,
              unit="query") as bar:
        result = strategy(space, obj, queries=args.queries, seed=args.seed, budget_params=args.budget_params,
                          callback=lambda h: bar.update(1), **kw)
    best = result.best_arch
    row = {"best arch": best, "objective (higher better)": f"{result.best_score:.6g}",
           **({obj.proxy: f"{obj.raw(best):.6g}"} if isinstance(obj, search.ProxyObjective) else {}),
           "params": f"{search.arch_params(space, best):,}", "queries": result.n_queries,
           "unique": result.n_unique, "seconds": f"{result.seconds:.1f}"}
    _print_table([row], list(row), f"{args.strategy} on {args.space}, objective {obj.name}"
                 + (f", budget {args.budget_params:,.0f} params" if args.budget_params else ""))
    if args.out:
        _write_json(Path(args.out), result.to_dict())
        print(f"\nwrote {args.out}")
    return 0


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from archrep import __version__

    p = argparse.ArgumentParser(prog="archrep", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Run 'archrep COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version", version=f"archrep {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def data_dir_arg(sp):
        sp.add_argument("--data-dir", help="raw benchmark data folder (default: $ARCHREP_DATA_DIR)")

    d = sub.add_parser("demo", help="train the baselines on NB201's packaged data and print a results table")
    d.add_argument("--target", default="baseline_accuracy", help="NB201 target (default: baseline_accuracy, CIFAR-10 of analog-nasbench)")
    d.add_argument("--train-size", type=int, default=781, help="training architectures (default 781, 5%% of NB201)")
    d.add_argument("--seeds", default="3", help="a count (3 = seeds 0,1,2) or a list 0,5,7")
    d.add_argument("--methods", default=",".join(DEMO_METHODS), help="comma-separated predictors")
    d.add_argument("--out", default="archrep-demo", help="folder for results.json (default ./archrep-demo)")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    data_dir_arg(d)
    d.set_defaults(func=cmd_demo)

    def registry_commands(noun: str, what: str, example: str, info_help: str, list_func, info_func):
        """``archrep NOUN list [PATTERN]`` and ``archrep NOUN info NAME [--json]``; returns the info parser."""
        parser = sub.add_parser(noun, help=f"list {what} or describe one")
        commands = parser.add_subparsers(dest=f"{noun}_command", required=True, metavar="SUBCOMMAND")
        listing = commands.add_parser("list", help=f"the registered {what}")
        listing.add_argument("pattern", nargs="?", default="*", help=f"shell pattern, e.g. {example!r}")
        listing.set_defaults(func=list_func)
        info = commands.add_parser("info", help=info_help)
        info.add_argument("name")
        info.add_argument("--json", action="store_true", help="print as JSON")
        info.set_defaults(func=info_func)
        return info

    di = registry_commands("data", "datasets", "nbgraph-*", "size, targets and provenance of a dataset (builds its cache)",
                           cmd_data_list, cmd_data_info)
    di.add_argument("--refresh", action="store_true", help="rebuild the cache from the raw files")
    data_dir_arg(di)
    registry_commands("models", "predictors", "kernel-*",
                      "a predictor's hyper-parameters with their defaults, and its named variants",
                      cmd_models_list, cmd_models_info)

    t = sub.add_parser("train", help="train a predictor over seeds, test it, save checkpoints")
    t.add_argument("--data", required=True, help="dataset name (archrep data list)")
    t.add_argument("--target", help="target name (archrep data info NAME); default: the dataset's default")
    t.add_argument("--model", required=True, help="predictor name (archrep models list)")
    t.add_argument("--train-size", type=int, required=True, help="number of training architectures")
    t.add_argument("--protocol", default="space-fraction", choices=["space-fraction", "pool"],
                   help="space-fraction: train on N of a seeded permutation, validate on the next 1,024, "
                        "test on the whole space; pool: FlowerFormer protocol (pool, 40 validation, rest test)")
    t.add_argument("--seeds", default="1", help="a count (3 = seeds 0,1,2) or a list 0,5,7")
    t.add_argument("--epochs", type=int, help="training epochs (torch predictors)")
    t.add_argument("--variant", default="default",
                   help="a named ablation of the model (default: the paper's setting); an unknown name lists them")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="model hyper-parameter, repeatable")
    t.add_argument("--out", help="folder for seed_<k>/ checkpoints and results.json")
    t.add_argument("--device", default="cpu", help="where torch predictors train: cpu, cuda or cuda:N")
    t.add_argument("--init", metavar="DIR", help="fine-tune from a pre-trained encoder (archrep pretrain --out DIR); "
                                                  "its architecture settings are used")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    data_dir_arg(t)
    t.set_defaults(func=cmd_train)

    from archrep.pretrain import DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_LR, list_methods

    pt = sub.add_parser("pretrain", help="pre-train an encoder on every architecture of a dataset, without labels",
                        description="Pre-train a predictor's encoder with a pretext task: fgp (reconstruct the flow "
                                    "surrogate, FGP) or autoencoder (reconstruct ops and adjacency, arch2vec-style). "
                                    "Fine-tune it with 'archrep train --init DIR'.")
    pt.add_argument("--method", default="fgp", choices=list_methods(), help="pretext task (default fgp)")
    pt.add_argument("--data", required=True, help="dataset name (archrep data list)")
    pt.add_argument("--encoder", default="gin", help="torch predictor whose encoder to pre-train (default gin)")
    pt.add_argument("--out", required=True, metavar="DIR", help="folder for manifest.json and encoder.pt")
    pt.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                    help=f"pre-training epochs (default {DEFAULT_EPOCHS}; the paper uses 200)")
    pt.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=f"default {DEFAULT_BATCH_SIZE}")
    pt.add_argument("--lr", type=float, default=DEFAULT_LR, help=f"AdamW learning rate (default {DEFAULT_LR:g})")
    pt.add_argument("--proxy", metavar="COLUMN", help="fgp: also rank this zero-cost proxy column (e.g. params, flops)")
    pt.add_argument("--standardize", action="store_true", help="fgp: reconstruct z-scored surrogates (ours)")
    pt.add_argument("--variant", default="default", help="a named variant of the encoder's model")
    pt.add_argument("--set", action="append", metavar="KEY=VALUE", help="encoder hyper-parameter, repeatable")
    pt.add_argument("--max-archs", type=int, help="pre-train on the first N architectures only (a quick trial)")
    pt.add_argument("--seed", type=int, default=0, help="initialisation and shuffling seed (default 0)")
    pt.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    pt.add_argument("--no-progress", action="store_true", help="no progress bar")
    data_dir_arg(pt)
    pt.set_defaults(func=cmd_pretrain)

    e = sub.add_parser("eval", help="score a checkpoint on a whole dataset")
    e.add_argument("--checkpoint", required=True, help="a checkpoint folder (DIR/seed_0)")
    e.add_argument("--data", required=True)
    e.add_argument("--target", help="default: the target the checkpoint was trained on")
    e.add_argument("--metrics", default="kendall_tau,spearman,precision_at_1pct,precision_at_5pct")
    e.add_argument("--out", help="write the scores to this JSON file")
    data_dir_arg(e)
    e.set_defaults(func=cmd_eval)

    tk = sub.add_parser(
        "tokenize", help="write TART's Laplacian-eigenvector (LAP) tokens of every architecture to an .npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Tokenise every architecture of a dataset as TART does: one token per node [x_v, P_v, P_v] "
                    "and one per edge u->v [0, P_u, P_v], P = the first DP Laplacian eigenvector entries, plus the "
                    "layout's extra columns.",
        epilog="The .npz holds tokens (N, T, D) float32, token_mask (N, T) bool, keys (N,) architecture keys and "
               "layout, a JSON string naming every column.\nRead it with: z = numpy.load(FILE); "
               "json.loads(str(z['layout']))")
    tk.add_argument("--data", required=True, help="dataset name (archrep data list)")
    tk.add_argument("--out", required=True, metavar="FILE", help="output file, ending in .npz (written atomically)")
    tk.add_argument("--dp", type=int, default=3, help="eigenvector entries per node (default 3, as TART)")
    tk.add_argument("--op-features", default="index", choices=["index", "onehot"],
                    help="index: one column (op index + 1) / num_ops, TART's df = 1 (default); onehot: one column per op")
    tk.add_argument("--layout", default="type_onehot+endpoints", choices=["type_onehot+endpoints", "type_onehot", "none"],
                    help="extra columns: node/edge one-hot and endpoint indices (default, TART's '+4'), "
                         "the one-hot only, or none")
    data_dir_arg(tk)
    tk.set_defaults(func=cmd_tokenize)

    pr = sub.add_parser("predict", help="predict architectures given as arch strings or JSON graphs")
    pr.add_argument("--checkpoint", required=True)
    pr.add_argument("archs", nargs="+", metavar="ARCH", help="arch string of the checkpoint's space, a JSON graph, or a .json file")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pr.set_defaults(func=cmd_predict)

    def platform_args(sp):
        sp.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "torch"])
        sp.add_argument("--precision", default="fp32", choices=["fp32", "int8", "bf16", "fp16"],
                        help="int8: onnxruntime static quantisation; bf16/fp16 where the hardware supports them")
        sp.add_argument("--threads", type=int, default=1, help="intra-op threads (default 1)")
        sp.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                        help="cuda: onnxruntime's CUDA execution provider, fp32 (needs onnxruntime-gpu)")

    pf = sub.add_parser("profile", help="measure the latency of an ONNX model on this machine")
    pf.add_argument("model", metavar="MODEL.onnx")
    platform_args(pf)
    pf.add_argument("--batch", type=int, help="fills a symbolic batch dimension")
    pf.add_argument("--repeats", type=int, default=20, help="timed runs per round (default 20)")
    pf.add_argument("--store", help="LatencyStore to add the measurement to: a SQLite file or an SQLAlchemy URL")
    pf.add_argument("--family", help="model family recorded with the graph in --store")
    pf.add_argument("--json", action="store_true", help="print the measurement as JSON")
    pf.add_argument("--kernels", type=int, nargs="?", const=15, metavar="N",
                    help="also list the N slowest kernels (default 15) and the time per op type, from "
                         "onnxruntime's profiler in separate runs (kernels are what onnxruntime executes after "
                         "fusing nodes, not the ONNX nodes); onnxruntime only")
    pf.set_defaults(func=cmd_profile)

    pl = sub.add_parser("predict-latency", help="predict the latency of an ONNX model with a trained predictor")
    pl.add_argument("model", metavar="MODEL.onnx")
    pl.add_argument("--checkpoint", required=True, help="folder of a latency predictor (Predictor.save)")
    pl.add_argument("--platform", help="platform text for a model trained on several platforms "
                                       "(default: this machine's, onnxruntime fp32 1 thread)")
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pl.set_defaults(func=cmd_predict_latency)

    ld = sub.add_parser("latency-dataset",
                        help="profile the model zoo into a LatencyStore (resumable), or describe one",
                        description="build: sample --per-family configs of each zoo family and measure them on each "
                                    "--platforms setting; extend: the same on an existing store (a larger --per-family "
                                    "keeps the earlier models and adds new ones; new platforms measure every model); "
                                    "rerunning either after a crash skips what is stored; --passes N measures each model N times. "
                                    "info: models and passes per platform. "
                                    "export: write the store as the compact JSON-lines file (xz, or gzip for a .gz "
                                    "name) that the zoo-latency dataset reads (default: the package file "
                                    "archrep/data/files/zoo_latency.jsonl.xz); "
                                    "import: read such a file into the store (keep-first), e.g. to extend the "
                                    "committed dataset.")
    ld.add_argument("action", choices=["build", "extend", "info", "export", "import"])
    ld.add_argument("--store", required=True, help="a SQLite file or an SQLAlchemy URL")
    ld.add_argument("--out", "--file", dest="out", metavar="FILE",
                    help="export: the file to write; import: the file to read (default for both: the package "
                         "file of the zoo-latency dataset)")
    ld.add_argument("--per-family", type=int, default=200, help="models per family (default 200)")
    ld.add_argument("--families", help="comma-separated zoo families (default: all ten)")
    ld.add_argument("--platforms", default="onnxruntime:fp32:1",
                    help="comma-separated RUNTIME:PRECISION:THREADS[:DEVICE] of this machine, DEVICE cpu (the "
                         "default) or cuda, e.g. torch:fp16:1:cuda (default onnxruntime:fp32:1)")
    ld.add_argument("--seed", type=int, default=0, help="sampling seed of the configs (default 0)")
    ld.add_argument("--repeats", type=int, default=20, help="timed runs per round (default 20)")
    ld.add_argument("--passes", type=int, default=1,
                    help="build/extend: measure every model in this many passes in all, a round over all models "
                         "apart (default 1); the dataset's label is the median over a model's passes, steadier "
                         "than one pass. Passes already stored count: --passes 3 on a one-pass store adds two")
    ld.add_argument("--no-progress", action="store_true", help="no progress bars")
    ld.set_defaults(func=cmd_latency_dataset)

    def proxy_args(sp, proxy_default):
        sp.add_argument("--space", required=True, help="search space with networks: nb201, nb101, vit, vit-tiny, vit-tiny-msa")
        sp.add_argument("--proxy", default=proxy_default,
                        help=f"training-free proxy (default {proxy_default}): params, flops, grad_norm, snip, synflow, "
                             "jacov, naswot, ntk, vintk, ntk_msa, ... (a wrong name lists them)")
        sp.add_argument("--seed", type=int, default=0, help="sampling, network initialisation and proxy seed (default 0)")
        sp.add_argument("--inputs", default="cifar10", choices=["cifar10", "fashion-mnist", "digits", "gaussian", "auto"],
                        help="images the proxy sees (default cifar10: 20 real CIFAR-10 test images); gaussian is synthetic")
        sp.add_argument("--batch", type=int, default=20, help="number of images (default 20)")
        sp.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
        sp.add_argument("--no-progress", action="store_true", help="no progress bar")

    px = sub.add_parser("proxy", help="score N architectures of a space with a training-free proxy (JSON lines)",
                        description="Score --n architectures (a seeded shuffle of a finite space, else distinct "
                                    "samples) with a proxy on real images; one JSON line per arch (space, arch, "
                                    "proxy, score, higher_is_better, seed, inputs, seconds), each written whole. "
                                    "If --out exists the archs it holds are skipped (resume).")
    proxy_args(px, "synflow")
    px.add_argument("--n", type=int, required=True, help="number of architectures")
    px.add_argument("--out", required=True, metavar="FILE", help="JSON-lines output (appended to, resumable)")
    px.set_defaults(func=cmd_proxy)

    se = sub.add_parser("search", help="search a space with a proxy (or the benchmark accuracy) under a parameter budget",
                        description="Run a search strategy (evolution: regularised evolution; random) whose objective "
                                    "is a proxy of the untrained networks, or with --oracle a target of the space's "
                                    "benchmark dataset (nb201: cifar10). Archs over --budget-params are rejected.")
    proxy_args(se, "synflow")
    se.add_argument("--strategy", default="evolution",
                    help="search strategy: evolution (default), random, or llm-fill (evolution with Arch-LLM's fill "
                         "mutation; nb101 / nb201)")
    se.add_argument("--budget-params", type=float, help="at most this many parameters per arch (e.g. 5e6)")
    se.add_argument("--queries", type=int, default=100, help="objective queries (default 100)")
    se.add_argument("--population", type=int, default=20, help="evolution: population size (default 20)")
    se.add_argument("--sample-size", type=int, default=5, help="evolution: tournament sample size (default 5)")
    se.add_argument("--oracle", metavar="TARGET", help="search on the benchmark's TARGET (e.g. cifar10 for nb201) instead of a proxy")
    se.add_argument("--cache", metavar="FILE", help="JSON-lines cache of proxy scores, reused across runs")
    se.add_argument("--out", metavar="FILE", help="write the run (best arch, history) as JSON")
    se.add_argument("--model", metavar="DIR", help="llm-fill: a trained Arch-LLM folder (default: the cached model "
                                                   "of the space, trained on first use)")
    se.add_argument("--masked", type=int, default=2, help="llm-fill: codes masked per mutation (default 2)")
    se.add_argument("--temperature", type=float, default=1.0, help="llm-fill: sampling temperature (default 1.0)")
    data_dir_arg(se)
    se.set_defaults(func=cmd_search)

    ge = sub.add_parser("generate", help="generate new valid architectures with Arch-LLM (VQ-VAE codes + code LM)",
                        description="Sample --n code sequences from the Arch-LLM of --space (nb101, nb201), decode "
                                    "them into cells and keep the valid ones. Without --model the space's default "
                                    "model is loaded from the cache, or trained and cached on first use (minutes "
                                    "for nb201, an hour or more for nb101 on one CPU core). Prints validity, "
                                    "uniqueness and novelty; writes the keys (null = invalid sample) as JSON.")
    ge.add_argument("--space", required=True, choices=["nb101", "nb201"])
    ge.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    ge.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0; 0.7 favours "
                                                                   "validity, 1.8 novelty)")
    ge.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    ge.add_argument("--model", metavar="DIR", help="a trained Arch-LLM folder (default: the cached model)")
    ge.add_argument("--out", required=True, metavar="FILE", help="JSON output: metrics, invalid counts, keys")
    ge.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ge.add_argument("--no-progress", action="store_true", help="no training log")
    ge.set_defaults(func=cmd_generate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ArchrepError as exc:
        print(f"archrep: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("archrep: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
