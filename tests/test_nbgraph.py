"""NAS-Bench-Graph: search space contract, canonical forms, integer ids, and the 9 datasets."""
from __future__ import annotations

import itertools
import pickle
import random

import numpy as np
import pytest

import archrep.data as data
from archrep import spaces
from archrep.data import nbgraph as dnb
from archrep.errors import ArchrepError, DataError, MissingDependencyError
from archrep.graph import ArchGraph
from archrep.spaces.nbgraph import (GNN_OPS, LINKS, PROTEINS_OPS, NBGraphProteinsSpace, NBGraphSpace,
                                    canonicalize, hash_key)

FULL_COUNT = 26206  # the paper's number of unique architectures
PROTEINS_COUNT = 2021


@pytest.fixture(scope="module")
def space():
    return spaces.get("nbgraph")


@pytest.fixture(scope="module")
def cora():
    return data.load("nbgraph-cora")


# ---------------------------------------------------------------------------- space contract
def test_registry_names_both_variants():
    assert isinstance(spaces.get("nbgraph"), NBGraphSpace)
    prot = spaces.get("nbgraph-proteins")
    assert isinstance(prot, NBGraphProteinsSpace) and prot.name == "nbgraph-proteins"
    assert prot.op_vocab == ("input", *PROTEINS_OPS, "output")
    assert NBGraphSpace(ops="proteins").ops_set == PROTEINS_OPS
    with pytest.raises(ArchrepError, match="op set"):
        NBGraphSpace(ops="tiny")


@pytest.mark.parametrize("name", ["nbgraph", "nbgraph-proteins"])
def test_sample_mutate_valid_canonical_and_different(name):
    sp = spaces.get(name)
    rng = random.Random(0)
    for _ in range(200):
        a = sp.sample(rng)
        assert sp.is_valid(a) and canonicalize(a, sp.ops_set) == a
        b = sp.mutate(a, rng)
        assert sp.is_valid(b) and canonicalize(b, sp.ops_set) == b
        assert b != a and sp.key(b) != sp.key(a)
        assert set(b[1]) <= set(sp.ops_set)


def test_key_parse_round_trip(space):
    rng = random.Random(1)
    for _ in range(200):
        a = space.sample(rng)
        assert space.parse(space.key(a)) == a
    assert space.key(((0, 0, 1, 3), ("gcn", "gat", "fc", "gin"))) == "0,0,1,3|gcn,gat,fc,gin"
    assert space.parse(" 0, 0,1,3 | gcn,gat,fc,gin ") == ((0, 0, 1, 3), ("gcn", "gat", "fc", "gin"))
    # a non-canonical spelling keys (and parses) as its representative: the skip read only by fc
    # is dropped, fc reads gcn, and the freed layer becomes root padding
    assert space.key(((0, 0, 1, 3), ("gcn", "gat", "skip", "fc"))) == "0,1,1,2|skip,gcn,gat,fc"
    assert space.parse("0,0,1,3|gcn,gat,skip,fc") == ((0, 1, 1, 2), ("skip", "gcn", "gat", "fc"))


@pytest.mark.parametrize("text, match", [
    ("0,0,1|gcn,gcn,gcn,gcn", "4 comma-separated"),
    ("0,0,1,3|gcn,gat,skip", "4 comma-separated"),
    ("0,0,1,3-gcn,gat,skip,fc", "link\\|ops"),
    ("0,0,1,3|gcn|gat", "link\\|ops"),
    ("a,0,1,3|gcn,gat,skip,fc", "non-negative integers"),
    ("0,0,-1,3|gcn,gat,skip,fc", "non-negative integers"),
    ("0,0,3,3|gcn,gat,skip,fc", "entry 2"),
    ("1,0,1,3|gcn,gat,skip,fc", "entry 0"),
    ("0,0,1,3|gcn,xyz,skip,fc", "unknown NAS-Bench-Graph op 'xyz'"),
    ("0,0,1,3|skip,skip,skip,skip", "all 'skip'"),
    ("", "link\\|ops"),
])
def test_parse_malformed(space, text, match):
    with pytest.raises(ArchrepError, match=match):
        space.parse(text)


def test_parse_rejects_non_string_and_foreign_ops(space):
    with pytest.raises(ArchrepError, match="must be a str"):
        space.parse(12)
    with pytest.raises(ArchrepError, match="unknown NAS-Bench-Graph op 'gat'"):
        spaces.get("nbgraph-proteins").parse("0,0,0,0|gat,gcn,gcn,gcn")
    with pytest.raises(ArchrepError, match="\\(link, ops\\)"):
        space.key("not an arch".split())


def test_is_valid(space):
    assert space.is_valid(((0, 0, 1, 3), ("gcn", "gat", "skip", "fc")))
    assert space.is_valid([[0, 1, 2, 3], ["gat", "gat", "gat", "gat"]])
    assert not space.is_valid(((0, 1, 2, 1), ("gcn", "gin", "fc", "cheb")))  # a DAG, not one of LINKS
    assert not space.is_valid(((0, 0, 0, 0), ("skip",) * 4))
    assert not space.is_valid(((0, 0, 0, 0), ("gcn", "gcn", "gcn")))
    assert not space.is_valid(((0, 0, 0, 0), ("gcn", "gcn", "gcn", "relu")))
    assert not space.is_valid(None) and not space.is_valid("0,0,0,0|gcn,gcn,gcn,gcn")
    assert not spaces.get("nbgraph-proteins").is_valid(((0, 0, 0, 0), ("gat",) * 4))


# ---------------------------------------------------------------------------- canonical forms
@pytest.mark.parametrize("arch, expected", [
    # relabelling: the package README's arch, its tree written with the canonical link
    (((0, 1, 2, 1), ("gcn", "gin", "fc", "cheb")), ((0, 1, 1, 2), ("gcn", "gin", "cheb", "fc"))),
    # automorphisms: parallel layers sorted in GNN_OPS order (gat < gcn < ... < skip)
    (((0, 0, 0, 0), ("fc", "gcn", "gat", "sage")), ((0, 0, 0, 0), ("gat", "gcn", "sage", "fc"))),
    # a leaf skip reading the raw input adds nothing: it becomes padding at the root
    (((0, 0, 0, 0), ("skip", "gcn", "gcn", "gcn")), ((0, 1, 1, 1), ("skip", "gcn", "gcn", "gcn"))),
    # a skip that is its parent's only reader: the parent is the leaf (3-layer chain + padding)
    (((0, 1, 2, 3), ("gcn", "gcn", "gcn", "skip")), ((0, 1, 2, 3), ("skip", "gcn", "gcn", "gcn"))),
    # a skip with a reader: the reader reads the skip's input instead
    (((0, 1, 2, 3), ("gcn", "skip", "gat", "fc")), ((0, 1, 2, 3), ("skip", "gcn", "gat", "fc"))),
    # a residual skip beside a real child stays (gcn's output is summed into the result)
    (((0, 1, 1, 1), ("gcn", "skip", "gat", "fc")), ((0, 1, 1, 1), ("gcn", "gat", "fc", "skip"))),
    # two leaf skips on one leaf layer stay (its output is summed twice)
    (((0, 0, 1, 1), ("gcn", "gat", "skip", "skip")), ((0, 0, 1, 1), ("gcn", "gat", "skip", "skip"))),
    # the package's anchor: a 2-layer GCN is written with a padding chain of two skips
    (((0, 1, 2, 3), ("skip", "skip", "gcn", "gcn")), ((0, 1, 2, 3), ("skip", "skip", "gcn", "gcn"))),
    (((0, 0, 1, 2), ("gcn", "gcn", "skip", "skip")), ((0, 1, 2, 2), ("skip", "skip", "gcn", "gcn"))),
])
def test_canonical_forms_hand_checked(arch, expected):
    assert canonicalize(arch) == expected
    assert hash_key(arch) == hash_key(expected)


def test_hash_key_digits():
    # link index then op indices, base 10
    assert hash_key(((0, 0, 0, 0), ("gat",) * 4)) == 0
    assert hash_key(((0, 1, 1, 2), ("gcn", "gin", "cheb", "fc"))) == 61237
    assert hash_key(((0, 1, 2, 3), ("skip", "skip", "skip", "fc"))) == 88887


def test_enumerate_is_canonical_hash_ordered_and_sized(space):
    archs = list(space.enumerate())
    assert len(archs) == len(space) == FULL_COUNT
    ids = [hash_key(a) for a in archs]
    assert ids == sorted(ids) and len(set(ids)) == FULL_COUNT
    assert all(a[0] in LINKS for a in archs)
    raw = len(LINKS) * len(GNN_OPS) ** 4 - len(LINKS)  # all-skip archs excluded
    assert raw > FULL_COUNT  # the equivalences merge 33,000+ spellings
    prot = list(spaces.get("nbgraph-proteins").enumerate())
    assert len(prot) == PROTEINS_COUNT and all(set(ops) <= set(PROTEINS_OPS) for _, ops in prot)


@pytest.mark.parametrize("name, space_name", [("cora", "nbgraph"), ("proteins", "nbgraph-proteins")])
def test_hash_key_matches_every_bench_key(name, space_name):
    records = dnb.read_bench(name)
    ids = [spaces.get(space_name).hash_key(a) for a in spaces.get(space_name).enumerate()]
    assert ids == sorted(records)


def _package_architecture():
    pytest.importorskip("nas_bench_graph")
    from nas_bench_graph import architecture
    return architecture


def _compare_with_package(raw_archs):
    arch_cls = _package_architecture().Arch
    for link, ops in raw_archs:
        assert hash_key((link, ops)) == arch_cls(list(link), list(ops)).valid_hash(), (link, ops)


def _raw_archs():
    for link in itertools.product(*(range(i + 1) for i in range(4))):
        for ops in itertools.product(GNN_OPS, repeat=4):
            if any(op != "skip" for op in ops):
                yield link, ops


def test_canonical_forms_agree_with_package_sample():
    """Our own rules give the package's Arch.valid_hash() on 4,000 random spellings (all 24 links)."""
    rng = random.Random(7)
    all_raw = list(_raw_archs())
    _compare_with_package(rng.sample(all_raw, 4000))


@pytest.mark.slow
def test_canonical_forms_agree_with_package_everywhere():
    """... and on all 157,440 spellings (24 DAG links x 9^4 ops, all-skip excluded)."""
    _compare_with_package(_raw_archs())


# ---------------------------------------------------------------------------- graphs
def test_graph_of_known_arch(space):
    g = space.to_graph(((0, 1, 2, 1), ("gcn", "gin", "fc", "cheb")))
    assert g.ops == ["input", "gcn", "gin", "cheb", "fc", "output"]
    # gin (2) and cheb (3) read gcn (1); fc (4) reads gin; the leaves cheb and fc feed the output
    assert g.edges == [(0, 1), (1, 2), (1, 3), (2, 4), (3, 5), (4, 5)]
    assert g.attrs["space"] == "nbgraph"
    # the README's spelling drawn by hand, nodes in its own order: the same graph up to numbering
    literal = ArchGraph(["input", "gcn", "gin", "fc", "cheb", "output"],
                        [(0, 1), (1, 2), (2, 3), (1, 4), (3, 5), (4, 5)])
    assert literal.hash() == g.hash()
    # the README claims 0,1,1,2|gcn,cheb,gin,fc is the same arch; there fc reads cheb, not gin
    other = space.to_graph(((0, 1, 1, 2), ("gcn", "cheb", "gin", "fc")))
    assert other.hash() != g.hash()


def test_graph_padding_and_residual_skips(space):
    g = space.to_graph(((0, 1, 2, 3), ("skip", "skip", "gcn", "gcn")))
    assert g.ops == ["input", "skip", "skip", "gcn", "gcn", "output"]
    assert g.edges == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    g = space.to_graph(((0, 1, 1, 1), ("gcn", "skip", "gat", "fc")))
    assert g.ops == ["input", "gcn", "gat", "fc", "skip", "output"]
    assert g.edges == [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5)]


def test_equivalent_spellings_share_key_and_graph(space):
    rng = random.Random(3)
    for _ in range(100):
        link = tuple(rng.randint(0, i) for i in range(4))
        ops = tuple(rng.choice(GNN_OPS) for _ in range(4))
        if ops == ("skip",) * 4:
            continue
        canon = canonicalize((link, ops))
        assert space.key((link, ops)) == space.key(canon)
        assert space.to_graph((link, ops)) == space.to_graph(canon)


# ---------------------------------------------------------------------------- datasets
@pytest.mark.parametrize("name", dnb.DATASETS)
def test_all_datasets_load(name):
    ds = data.load(f"nbgraph-{name}")
    expected = PROTEINS_COUNT if name == "proteins" else FULL_COUNT
    assert len(ds) == expected
    assert ds.space == ("nbgraph-proteins" if name == "proteins" else "nbgraph")
    assert ds.default_target == "perf" and ds.op_vocab == dnb.OP_VOCAB
    assert set(ds.targets) == {"perf", "valid_perf", "latency", "params"}
    assert set(ds.target_info) == set(ds.targets)
    for t, v in ds.targets.items():
        assert np.isfinite(v).all(), t
    for t in ("perf", "valid_perf"):
        assert 0.0 < ds.targets[t].min() and ds.targets[t].max() <= 1.0
        assert ds.targets[t].std() > 0.01  # architectures differ
    assert 0.0 < ds.targets["latency"].min() and ds.targets["latency"].max() < 1.0  # seconds
    assert 0.01 < ds.targets["params"].min() and ds.targets["params"].max() < 10.0  # millions
    assert ds.meta["package"] == "nas-bench-graph" and ds.meta["package_version"]
    assert (ds.num_nodes == 6).all()
    # the smallest id: the star of the first op (gat; gcn for the proteins ops)
    assert ds.keys[0] == ("0,0,0,0|gcn,gcn,gcn,gcn" if name == "proteins" else "0,0,0,0|gat,gat,gat,gat")


def test_rows_follow_bench_records(cora, space):
    records = dnb.read_bench("cora")
    rng = random.Random(5)
    for i in rng.sample(range(len(cora)), 50):
        arch = space.parse(str(cora.keys[i]))
        rec = records[hash_key(arch)]
        assert cora.targets["perf"][i] == rec["perf"]
        assert cora.targets["valid_perf"][i] == rec["valid_perf"]
        assert cora.targets["latency"][i] == rec["latency"]
        assert cora.targets["params"][i] == rec["para"]
        g, ref = cora.graph(i), space.to_graph(arch)
        assert g.ops == ref.ops and g.edges == ref.edges


def test_params_are_millions(cora):
    """Cora has 1,433 features and hidden size 256; SAGE adds one 1433 x 256 weight over FC."""
    sage = cora.targets["params"][cora.index_of("0,1,2,3|skip,skip,skip,sage")]
    fc = cora.targets["params"][cora.index_of("0,1,2,3|skip,skip,skip,fc")]
    gcn = cora.targets["params"][cora.index_of("0,1,2,3|skip,skip,skip,gcn")]
    assert sage - fc == pytest.approx(1433 * 256 / 1e6, abs=1e-9)
    assert gcn == pytest.approx(fc, abs=1e-12)  # GCN and FC: one weight + bias each


def test_graph_hash_distinguishes_every_arch(cora):
    hashes = {g.hash() for g in cora.graphs()}
    assert len(hashes) == FULL_COUNT


def test_reload_hits_cache():
    first = data.load("nbgraph-photo")
    again = data.load("nbgraph-photo")
    assert np.array_equal(first.targets["perf"], again.targets["perf"])
    assert list(first.keys) == list(again.keys)


def test_bench_file_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="unknown NAS-Bench-Graph dataset"):
        dnb.bench_path("imagenet")
    bad = tmp_path / "bad.bench"
    bad.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DataError, match="expected a dict"):
        dnb.read_bench("cora", bad)
    bad.write_bytes(pickle.dumps({0: {"perf": 0.5}}))
    with pytest.raises(DataError, match="lacks one of the fields"):
        dnb.read_bench("cora", bad)
    bad.write_bytes(pickle.dumps({"0": {"perf": 0.5, "valid_perf": 0.5, "latency": 0.1, "para": 1.0}}))
    with pytest.raises(DataError, match="not an integer"):
        dnb.read_bench("cora", bad)
    monkeypatch.setattr(dnb.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match="pip install nas-bench-graph"):
        dnb.bench_path("cora")
