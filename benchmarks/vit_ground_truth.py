"""Ground truth for the ViT spaces: train sampled ViTs with one fixed recipe, record their accuracy.

Samples ``--n`` distinct architectures of ``--space`` (``vit-tiny``, or ``vit-tiny-msa``) in a
seeded order (``random.Random(--sample-seed)``, so a larger ``--n`` extends a smaller one), builds
each with ``torch.manual_seed(seed)`` and trains it with
:class:`archrep.train.image_classification.ImageRecipe` on Fashion-MNIST, for each of ``--seeds``.
Each trained network is appended at once as one JSON line to ``--out`` (default: the package file
that ``archrep.data.load("vit-tiny-fashion")`` reads), so a killed run loses at most the network
in progress; a re-run skips the (key, seed) pairs the file holds. A file holds one recipe: the
script refuses to add results of another.

    python benchmarks/vit_ground_truth.py --space vit-tiny --n 150            # about 1 CPU-minute a net
    python benchmarks/vit_ground_truth.py --space vit-tiny-msa --n 60 --device cuda
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch starts its thread pool

import argparse
import random
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from archrep import nets, spaces
from archrep.data.vit_ground_truth import GROUND_TRUTH, ground_truth_path, read_lines
from archrep.results import append_json_line
from archrep.train.image_classification import ImageRecipe, recipe_data, train_and_test

DATASET_OF_SPACE = {space: name for name, space in GROUND_TRUTH.items()}


def sample_keys(space, n: int, seed: int) -> list[str]:
    """``n`` distinct keys of ``space`` in a seeded order (a prefix of any larger ``n``)."""
    rng, keys, seen = random.Random(seed), [], set()
    limit = len(space) if space.finite else None
    if limit is not None and n > limit:
        raise SystemExit(f"--n {n}: space {space.name!r} has only {limit} architectures")
    while len(keys) < n:
        k = space.key(space.sample(rng))
        if k not in seen:
            seen.add(k)
            keys.append(k)
    return keys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--space", default="vit-tiny", choices=sorted(DATASET_OF_SPACE))
    ap.add_argument("--n", type=int, default=150, help="number of architectures (default 150)")
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds (default 0)")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the architecture order")
    ap.add_argument("--out", help="JSONL file (default: the package file of the space's dataset)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    defaults = ImageRecipe()
    for field, value in defaults.to_dict().items():
        if field != "dataset":
            ap.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value,
                            help=f"recipe: {field} (default {value})")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = ImageRecipe(**{f: getattr(args, f) for f in defaults.to_dict() if f != "dataset"})
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    space = spaces.get(args.space)
    out = Path(args.out) if args.out else ground_truth_path(DATASET_OF_SPACE[args.space])
    have = read_lines(out, args.space)
    if have and have[0]["recipe_digest"] != recipe.digest():
        raise SystemExit(f"{out} holds results of recipe {have[0]['recipe_digest']} ({have[0].get('recipe')}); "
                         f"this run's recipe is {recipe.digest()}: pass --out to another file")
    done = {(r["key"], r["seed"]) for r in have}
    todo = [(k, s) for k in sample_keys(space, args.n, args.sample_seed) for s in seeds if (k, s) not in done]
    print(f"{args.space}: {len(done)} trained networks in {out}, {len(todo)} to train "
          f"(recipe {recipe.digest()}: {recipe.to_dict()})", flush=True)
    if not todo:
        return 0
    data = recipe_data(recipe)
    with tqdm(todo, unit="net") as bar:
        for key, seed in bar:
            torch.manual_seed(seed)
            net = nets.vit_network(key, space)
            res = train_and_test(net, recipe, data, seed=seed, device=args.device)
            rec = {"space": args.space, "key": key, "seed": seed, "recipe": recipe.to_dict(),
                   "recipe_digest": recipe.digest(), "test_accuracy": res["test_accuracy"],
                   "train_loss": res["train_loss"], "params": space.params(space.parse(key)), "seconds": res["seconds"],
                   "device": args.device, "torch": torch.__version__}
            append_json_line(out, rec)
            bar.set_postfix_str(f"{key} {res['test_accuracy']:.1f}% {res['seconds']:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
