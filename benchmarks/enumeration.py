"""Complete cell spaces -> benchmarks/results/enumeration.json (task ``generation``).

Builds every unique valid NAS-Bench-101 cell with ``archrep.spaces.enumeration.enumerate_cells``
(bypassing the cache, so the build itself is timed; the official count is 423,624) and the
15,625 NAS-Bench-201 cells through the same entry point, then times the cached reload. With
``--check-hash`` (default on) every cell's ArchGraph.hash is computed and the number of distinct
hashes must equal the number of cells, and every NB101 cell must be in canonical node order
(its ``NB101Space.key`` is the cell written out). One record per space with ``n_unique_cells``.

    python benchmarks/enumeration.py                 # about a minute or two single-threaded
    python benchmarks/enumeration.py --no-check-hash # the build and reload timings only
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from archrep import spaces
from archrep.results import make_record, write_records
from archrep.spaces import nb101
from archrep.spaces.enumeration import NB101_NUM_CELLS, NB201_NUM_CELLS, enumerate_cells

RESULTS = Path(__file__).resolve().parent / "results"
EXPECTED = {"nb101": NB101_NUM_CELLS, "nb201": NB201_NUM_CELLS}


def check(name: str, table) -> dict:
    """Distinct ArchGraph.hash values over all cells (and NB101 canonical order); seconds."""
    t0 = time.perf_counter()
    space = spaces.get(name)
    hashes = set()
    non_canonical = 0
    if name == "nb101":
        for spec in space.enumerate():
            hashes.add(nb101.spec_hash(spec))
            written = ",".join("".join(map(str, r)) for r in spec.matrix) + "|" + ",".join(spec.ops)
            non_canonical += nb101.spec_to_string(spec) != written
    else:
        for arch in space.enumerate():
            hashes.add(space.to_graph(arch).hash())
    out = {"n_distinct_hashes": len(hashes), "n_not_canonical": non_canonical,
           "check_seconds": time.perf_counter() - t0}
    if len(hashes) != len(table) or non_canonical:
        raise AssertionError(f"{name}: {len(hashes)} distinct hashes for {len(table)} cells, "
                             f"{non_canonical} cells not in canonical order")
    return out


def bench(name: str, check_hash: bool) -> dict:
    t0 = time.perf_counter()
    table = enumerate_cells(name, rebuild=True)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    cached = enumerate_cells(name)
    load = time.perf_counter() - t0
    n = len(cached)
    print(f"{name}: {n:,} unique cells (official {EXPECTED[name]:,}); build {build:.2f} s, "
          f"cached load {load:.3f} s")
    if n != EXPECTED[name]:
        raise AssertionError(f"{name}: enumerated {n} cells, the official count is {EXPECTED[name]}")
    extra = {}
    if check_hash:
        extra = check(name, table)
        print(f"{name}: {extra['n_distinct_hashes']:,} distinct ArchGraph.hash values "
              f"({extra['check_seconds']:.1f} s)")
    by_vertices = table.meta.get("by_vertices")
    return make_record("generation", dataset=name, space=name, method="enumeration", variant="all-cells",
                       n_unique_cells=n, official_count=EXPECTED[name], seconds=build,
                       seconds_cached_load=load, hash_checked=check_hash,
                       **({"by_vertices": by_vertices} if by_vertices else {}), **extra)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spaces", nargs="+", default=["nb101", "nb201"], choices=["nb101", "nb201"])
    ap.add_argument("--check-hash", action=argparse.BooleanOptionalAction, default=True,
                    help="hash every cell and require as many distinct hashes as cells (default on)")
    ap.add_argument("--results", default=str(RESULTS), help="folder for the JSON results")
    args = ap.parse_args(argv)
    records = [bench(name, args.check_hash) for name in args.spaces]
    write_records(Path(args.results) / "enumeration.json", records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
