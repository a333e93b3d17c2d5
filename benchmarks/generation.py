"""Generation benchmark (issue 7, Arch-LLM) -> benchmarks/results/generation.json (task ``generation``).

Per space (``nb201``: all 15,625 cells; ``nb101``: the 423,624 cells of the exact enumeration):

1. a seeded split of the cells (``numpy.random.default_rng(0)``): ``--train`` cells to train on
   (NB201 default 90 % = 14,062; NB101 default 100,000) and ``--held-out`` 2,000 others (NB201:
   the remaining 1,563) for reconstruction;
2. **vqvae**: the VQ-VAE (K = 512, defaults of :class:`~archrep.generate.vqvae.VQVAEConfig`,
   ``--vq-epochs``, learning rate decayed by ``--vq-schedule``: ``cosine``, ours, by default, or
   arch2vec's ``constant``; the record's ``variant``) trained on the training cells; record
   ``reconstruction`` = exact whole-graph match on the held-out cells (and
   ``reconstruction_train`` on 2,000 training cells);
3. **arch-llm**: the code LM (``--lm-backends``: ``t5`` trained from scratch, variant
   ``t5-scratch``; ``smollm2``, the pretrained SmolLM2-135M fine-tuned, variant ``smollm2``) trained
   on the training cells' codes; per temperature (``--temperatures``, default 0.7 1.0 1.4 1.8)
   and sampling seed (``--seeds``) ``--n-samples`` (10,000) samples are decoded and scored;
4. **vae**: the continuous baseline, the same encoder and decoder with arch2vec's Gaussian
   bottleneck (``bottleneck="gaussian"``, arch2vec's KL weighting unless ``--kl-weight``), trained
   likewise (the same schedule); its reconstruction (posterior mean)
   and its samples from arch2vec's empirical prior N(μ̂, σ̂) with the standard deviation scaled by
   the temperature (the analogue of an LM's sampling temperature; 1.0 is arch2vec's protocol);
5. one record ``n_unique_cells`` of the NB101 enumeration (423,624 is the official count).

Metrics (:func:`archrep.train.metrics.generation_metrics`; validity per
:mod:`archrep.generate.cells`): ``validity``, ``uniqueness``, ``novelty`` (not among the training
cells), ``abs_uniqueness`` and ``abs_novelty`` (normalised by all samples), each ``_mean`` /
``_std`` over the sampling seeds; ``invalid`` counts why samples failed. The models are trained
once (training seed ``--model-seed``) and kept under ``--models`` (default
``$ARCHREP_HOME/generation``); with the default settings the t5 Arch-LLM is the one
:func:`archrep.generate.archllm.cached` gives (``archrep generate``, ``benchmarks/search.py
--strategies llm-fill``). Each record is written as soon as it is measured; ``--resume`` skips records
the file holds and reuses saved models; a VQ-VAE or VAE killed while training continues from its
last epoch (a ``.ckpt`` file beside the model folder) when the command is run again.

    python benchmarks/generation.py                          # both spaces, t5 (hours on one CPU core)
    python benchmarks/generation.py --spaces nb201 --lm-backends t5,smollm2
    python benchmarks/generation.py --quick --spaces nb201   # smoke run (minutes)
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from archrep import config
from archrep.errors import ArchrepError
from archrep.generate.archllm import DEFAULT_TRAIN, DEFAULT_VQ_EPOCHS, ArchLLM, cached, split
from archrep.generate.cells import cell_keys
from archrep.generate.codelm import CodeLM
from archrep.generate.vqvae import VQVAE
from archrep.results import make_record, mean_std, read_records, write_records
from archrep.spaces.enumeration import NB101_NUM_CELLS, enumerate_cells
from archrep.train.metrics import generation_metrics
from plotting import pyplot  # benchmarks/plotting.py, beside this script

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("validity", "uniqueness", "novelty", "abs_uniqueness", "abs_novelty")
TRAIN, VQ_EPOCHS, HELD_OUT = DEFAULT_TRAIN, DEFAULT_VQ_EPOCHS, 2_000
LM_VARIANTS = {"t5": "t5-scratch", "smollm2": "smollm2"}
QUICK = {"train": 1_000, "held_out": 200, "vq_epochs": 3, "lm_epochs": 2, "n_samples": 500, "seeds": [0]}


def digest(settings) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]


def _have(path: Path, probe: dict) -> bool:
    keys = ("space", "method", "variant", "temperature", "n_samples", "train_size", "seeds", "vq_schedule")

    def same(r: dict) -> bool:  # an arch-llm record without lm_train_size trained its LM on every cell
        return all(r.get(k) == probe.get(k) for k in keys) and (
            "lm_train_size" not in probe or r.get("lm_train_size", r.get("train_size")) == probe["lm_train_size"])

    return any(same(r) for r in read_records(path) if r.get("task") == "generation")


def reconstruction(out: Path, args, base: dict, vq: VQVAE, train_cells, held_cells, seconds: float) -> None:
    """Write the ``vqvae`` record of ``vq``: exact reconstruction of held-out and training cells."""
    probe = {**base, "method": "vqvae", "variant": args.vq_schedule, "temperature": None, "n_samples": None,
             "seeds": [args.model_seed]}
    if args.resume and _have(out, probe):
        return
    rec = make_record("generation", **probe, epochs=vq.config.epochs, codebook_size=vq.config.codebook_size,
                      reconstruction=vq.reconstruction_accuracy(held_cells),
                      reconstruction_train=vq.reconstruction_accuracy((train_cells[0][:HELD_OUT],
                                                                       train_cells[1][:HELD_OUT])),
                      codes_used=int(len(np.unique(vq.encode(train_cells)))), seconds=seconds)
    write_records(out, [rec])
    print(f"  vqvae ({args.vq_schedule}): reconstruction {rec['reconstruction']:.4f} held out, "
          f"{rec['reconstruction_train']:.4f} train", flush=True)


def epoch_seconds(model: VQVAE) -> float:
    """Training time of ``model``: the sum over its epochs, so that a run resumed from a checkpoint
    counts the epochs done before the interruption too."""
    return float(sum(h["seconds"] for h in model.history))


def sample_metrics(draw, seeds: list[int], reference: set) -> dict:
    """Mean/std over ``seeds`` of the metrics of ``draw(seed) -> (keys, invalid counts)``."""
    per = {m: [] for m in METRICS}
    invalid: dict[str, int] = {}
    t0 = time.perf_counter()
    for s in seeds:
        keys, why = draw(s)
        for m, v in generation_metrics(keys, reference).items():
            per[m].append(v)
        for k, v in why.items():
            invalid[k] = invalid.get(k, 0) + int(v)
    out = {}
    for m, v in per.items():
        out.update(mean_std(v, m))
    return {**out, "invalid": invalid, "seconds": time.perf_counter() - t0}


def plot_space(records: list[dict], space: str, path: Path) -> None:
    """Validity, absolute uniqueness and absolute novelty against the temperature, one line (mean ±
    std over the sampling seeds) per sampled model of ``space``; skipped without matplotlib."""
    sampled = [r for r in records if r.get("task") == "generation" and r.get("space") == space
               and r.get("method") in ("arch-llm", "vae")]
    plt = pyplot() if sampled else None
    if plt is None:
        return
    several_sizes = len({r["train_size"] for r in sampled}) > 1
    lines: dict[str, list[dict]] = {}
    for r in sampled:
        label = f"{r['method']} {r['variant']}"
        if r.get("lm_train_size") not in (None, r["train_size"]):
            label += f" (LM on {r['lm_train_size']:,})"
        if several_sizes:
            label += f", train {r['train_size']:,}"
        lines.setdefault(f"{label}, {r['n_samples']:,} samples", []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric in zip(axes, ("validity", "abs_uniqueness", "abs_novelty")):
        for label, rs in sorted(lines.items()):
            rs = sorted(rs, key=lambda r: r["temperature"])
            ax.errorbar([r["temperature"] for r in rs], [r[f"{metric}_mean"] for r in rs],
                        yerr=[r[f"{metric}_std"] for r in rs], marker="o", ms=3, capsize=2, label=label)
        ax.set_xlabel("temperature")
        ax.set_title(metric, fontsize=10)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{space}: generated architectures", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def plot_spaces(out: Path, spaces_: list[str]) -> int:
    """``generation_<space>.png`` beside the results file ``out``, for each of ``spaces_``."""
    records = read_records(out)
    for space in spaces_:
        plot_space(records, space, out.parent / f"generation_{space}.png")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spaces", default="nb201,nb101")
    ap.add_argument("--methods", default="arch-llm,vae",
                    help="arch-llm (its VQ-VAE's reconstruction included), vae, vqvae (the reconstruction alone)")
    ap.add_argument("--lm-backends", default="t5", help="comma-separated code-LM backends: t5, smollm2")
    ap.add_argument("--temperatures", default="0.7,1.0,1.4,1.8")
    ap.add_argument("--n-samples", type=int, default=10_000)
    ap.add_argument("--seeds", default="0,1,2", help="sampling seeds")
    ap.add_argument("--model-seed", type=int, default=0)
    ap.add_argument("--train", type=int, help=f"training cells (default {TRAIN})")
    ap.add_argument("--vq-epochs", type=int, help=f"VQ-VAE and VAE epochs (default {VQ_EPOCHS})")
    ap.add_argument("--vq-schedule", default="cosine", choices=["cosine", "constant"],
                    help="learning-rate schedule of the VQ-VAE and the VAE (default cosine, ours; constant: arch2vec's)")
    ap.add_argument("--kl-weight", type=float, help="VAE KL weight (default: arch2vec's, code_dim / (batch x nodes))")
    ap.add_argument("--lm-epochs", type=int, default=10, help="code-LM epochs (default 10)")
    ap.add_argument("--lm-train", type=int, help="train the code LMs on the codes of only the first N training cells "
                    "(default all; the VQ-VAE and novelty's reference keep all of them): for a side-by-side of the "
                    "backends where SmolLM2's CPU cost forbids the full set")
    ap.add_argument("--lm-batch-size", type=int, help="code-LM batch size (default: CodeLM's, 64)")
    ap.add_argument("--smollm2-epochs", type=int, default=1, help="SmolLM2 fine-tuning epochs (default 1)")
    ap.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK}")
    ap.add_argument("--resume", action="store_true", help="skip records the results file holds")
    ap.add_argument("--plot-only", action="store_true",
                    help="only redraw generation_<space>.png of each space from the results file")
    ap.add_argument("--results", default=str(RESULTS))
    ap.add_argument("--models", help="folder for the trained models (default $ARCHREP_HOME/generation, the t5 "
                                     "Arch-LLM where archrep.generate.archllm.cached keeps it)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    spaces_ = [s.strip() for s in args.spaces.split(",") if s.strip()]
    methods = {m.strip() for m in args.methods.split(",") if m.strip()}
    backends = [b.strip() for b in args.lm_backends.split(",") if b.strip()]
    for what, given, valid in (("space", spaces_, TRAIN), ("method", methods, ("arch-llm", "vae", "vqvae")),
                               ("LM backend", backends, LM_VARIANTS)):
        bad = sorted(set(given) - set(valid))
        if bad:
            ap.error(f"unknown {what}(s) {', '.join(bad)}; valid: {', '.join(valid)}")
    temps = [float(t) for t in args.temperatures.split(",")]
    seeds = QUICK["seeds"] if args.quick else [int(s) for s in args.seeds.split(",")]
    n_samples = QUICK["n_samples"] if args.quick else args.n_samples
    out = Path(args.results) / "generation.json"
    models = Path(args.models) if args.models else config.archrep_home() / "generation"

    if args.plot_only:
        return plot_spaces(out, spaces_)
    for space in spaces_:
        t = enumerate_cells(space)
        if space == "nb101":
            write_records(out, [make_record("generation", space="nb101", method="enumeration", variant="exact",
                                            n_unique_cells=len(t), official_count=NB101_NUM_CELLS,
                                            seconds=t.meta.get("seconds"))])
        n_train = QUICK["train"] if args.quick else (args.train or TRAIN[space])
        tr, held = split(len(t), n_train, QUICK["held_out"] if args.quick else HELD_OUT, seed=0)
        train_cells, held_cells = (t.ops[tr], t.adj[tr]), (t.ops[held], t.adj[held])
        reference = set(cell_keys(space, *train_cells, t.op_vocab))
        vq_epochs = QUICK["vq_epochs"] if args.quick else (args.vq_epochs or VQ_EPOCHS[space])
        lm_epochs = QUICK["lm_epochs"] if args.quick else args.lm_epochs
        base = {"space": space, "train_size": int(n_train), "held_out": int(len(held)), "model_seed": args.model_seed}
        print(f"{space}: {n_train} training cells, {len(held)} held out", flush=True)

        if "arch-llm" in methods:
            t0 = time.perf_counter()
            # the t5 model is the cached default of archrep.generate.archllm (what `archrep generate`
            # and `search --strategy llm-fill` use), its VQ-VAE is shared by the other backends
            tag = digest([n_train, vq_epochs, args.vq_schedule, lm_epochs, args.model_seed])
            base_llm = cached(space, train=int(n_train), vq_epochs=vq_epochs, vq_schedule=args.vq_schedule,
                              lm_epochs=lm_epochs, seed=args.model_seed,
                              folder=models / f"{space}-archllm-t5-{tag}" if args.models else None,
                              device=args.device, verbose=True)
            vq = base_llm.vqvae
            reconstruction(out, args, base, vq, train_cells, held_cells,
                           base_llm.meta.get("vqvae_seconds", time.perf_counter() - t0))
            lm_cells = train_cells if args.lm_train is None else (train_cells[0][:args.lm_train],
                                                                  train_cells[1][:args.lm_train])
            lm_options = {} if args.lm_batch_size is None else {"batch_size": args.lm_batch_size}
            for backend in backends:
                epochs = args.smollm2_epochs if backend == "smollm2" else lm_epochs
                if backend == "t5" and args.lm_train is None and not lm_options:
                    llm = base_llm
                else:
                    settings = [n_train, vq_epochs, args.vq_schedule, epochs, args.model_seed]
                    if args.lm_train is not None or lm_options:
                        settings += [args.lm_train, lm_options]
                    llm_dir = models / f"{space}-archllm-{backend}-{digest(settings)}"
                    try:
                        llm = ArchLLM.load(llm_dir, device=args.device)
                    except ArchrepError:
                        t1 = time.perf_counter()
                        lm = CodeLM(codebook_size=vq.config.codebook_size, seq_len=vq.config.max_nodes, backend=backend,
                                    epochs=epochs, seed=args.model_seed, device=args.device,
                                    **lm_options).fit(vq.encode(lm_cells), verbose=True)
                        llm = ArchLLM(space, t.op_vocab, vq, lm, {**base_llm.meta, "lm_seconds": time.perf_counter() - t1})
                        llm.save(llm_dir)
                for temp in temps:
                    probe = {**base, "method": "arch-llm", "variant": LM_VARIANTS[backend], "temperature": temp,
                             "n_samples": n_samples, "seeds": seeds, "vq_schedule": args.vq_schedule,
                             "lm_train_size": len(lm_cells[0])}
                    if args.resume and _have(out, probe):
                        continue

                    def draw(seed, temp=temp):
                        g = llm.generate(n_samples, temperature=temp, seed=seed)
                        return g.keys, g.invalid

                    m = sample_metrics(draw, seeds, reference)
                    write_records(out, [make_record("generation", **probe, **m, lm_epochs=epochs,
                                                    lm_seconds=llm.meta.get("lm_seconds"))])
                    print(f"  arch-llm {backend} T={temp}: validity {m['validity_mean']:.3f} "
                          f"abs_uniq {m['abs_uniqueness_mean']:.3f} abs_novel {m['abs_novelty_mean']:.3f} "
                          f"invalid {m['invalid']}", flush=True)

        if "vqvae" in methods and "arch-llm" not in methods:  # the reconstruction alone
            vq_dir = models / f"{space}-vqvae-{digest([n_train, vq_epochs, args.vq_schedule, args.model_seed])}"
            try:
                vq = VQVAE.load(vq_dir, device=args.device)
            except ArchrepError:
                vq = VQVAE(vocab_size=len(t.op_vocab), max_nodes=t.ops.shape[1], epochs=vq_epochs,
                           schedule=args.vq_schedule, seed=args.model_seed, device=args.device).fit(
                    train_cells, verbose=True, checkpoint=models / f"{vq_dir.name}.ckpt")
                vq.save(vq_dir)
                (vq_dir / "seconds.json").write_text(json.dumps({"seconds": epoch_seconds(vq)}))
            reconstruction(out, args, base, vq, train_cells, held_cells,
                           json.loads((vq_dir / "seconds.json").read_text())["seconds"])

        if "vae" in methods:
            vae_cfg = {"epochs": vq_epochs, "schedule": args.vq_schedule, "seed": args.model_seed,
                       "bottleneck": "gaussian", "kl_weight": args.kl_weight}
            vae_dir = models / f"{space}-vae-{digest({'space': space, 'train': int(n_train), **vae_cfg})}"
            try:
                vae = VQVAE.load(vae_dir, device=args.device)
            except ArchrepError:
                vae = VQVAE(vocab_size=len(t.op_vocab), max_nodes=t.ops.shape[1], device=args.device,
                            **vae_cfg).fit(train_cells, verbose=True, checkpoint=models / f"{vae_dir.name}.ckpt")
                vae.save(vae_dir)
                (vae_dir / "seconds.json").write_text(json.dumps({"seconds": epoch_seconds(vae)}))
            vae_seconds = json.loads((vae_dir / "seconds.json").read_text())["seconds"]
            recon = vae.reconstruction_accuracy(held_cells)
            for temp in temps:
                probe = {**base, "method": "vae", "variant": "empirical-prior", "temperature": temp,
                         "n_samples": n_samples, "seeds": seeds, "vq_schedule": args.vq_schedule}
                if args.resume and _have(out, probe):
                    continue

                def draw(seed, temp=temp):
                    keys = cell_keys(space, *vae.sample(n_samples, seed=seed, temperature=temp), t.op_vocab)
                    return keys, {"cell": sum(k is None for k in keys)}

                m = sample_metrics(draw, seeds, reference)
                write_records(out, [make_record("generation", **probe, **m, reconstruction=recon, epochs=vq_epochs,
                                                kl_weight=vae.config.kl_weight or "arch2vec",
                                                train_seconds=vae_seconds)])
                print(f"  vae T={temp}: reconstruction {recon:.4f} validity {m['validity_mean']:.3f} "
                      f"abs_uniq {m['abs_uniqueness_mean']:.3f} abs_novel {m['abs_novelty_mean']:.3f}", flush=True)
    return plot_spaces(out, spaces_)


if __name__ == "__main__":
    sys.exit(main())
