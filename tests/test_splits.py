"""Split protocols: sizes, disjointness, determinism, the identity seed, errors."""
import json

import numpy as np
import pytest

from archrep.data import splits
from archrep.errors import ArchrepError, UnknownNameError


def test_space_fraction_sizes_and_test_on_all():
    sp = splits.create("space-fraction", train_size=10, val_size=20, seed=3).split(100)
    assert sp.sizes() == {"train": 10, "val": 20, "test": 100}
    assert all(a.dtype == np.int64 for a in (sp.train, sp.val, sp.test))
    assert not set(sp.train) & set(sp.val)
    np.testing.assert_array_equal(sp.test, np.arange(100))
    perm = np.random.default_rng(3).permutation(100)
    np.testing.assert_array_equal(sp.train, perm[:10])
    np.testing.assert_array_equal(sp.val, perm[10:30])


def test_space_fraction_deterministic_per_seed():
    a = splits.SpaceFraction(50, seed=1).split(15625)
    b = splits.SpaceFraction(50, seed=1).split(15625)
    c = splits.SpaceFraction(50, seed=2).split(15625)
    np.testing.assert_array_equal(a.train, b.train)
    np.testing.assert_array_equal(a.val, b.val)
    assert not np.array_equal(a.train, c.train)
    assert len(a.val) == 1024


def test_space_fraction_errors():
    with pytest.raises(ArchrepError, match="exceeds"):
        splits.SpaceFraction(101, val_size=0).split(100)
    with pytest.raises(ArchrepError, match="val_size"):
        splits.SpaceFraction(90, val_size=20).split(100)
    with pytest.raises(ArchrepError, match="train_size"):
        splits.SpaceFraction(0)
    with pytest.raises(ArchrepError):
        splits.SpaceFraction(5).split(0)


def test_pool_identity_at_seed_21():
    sp = splits.create("pool", pool_size=50, train_size=5, seed=21).split(100)
    np.testing.assert_array_equal(sp.train, np.arange(5))
    np.testing.assert_array_equal(sp.val, np.arange(50, 90))
    np.testing.assert_array_equal(sp.test, np.arange(90, 100))


def test_pool_other_seeds_use_legacy_numpy_permutation():
    sp = splits.Pool(pool_size=50, train_ratio=0.1, seed=2021).split(100)
    perm = np.random.RandomState(2021).permutation(100)
    np.testing.assert_array_equal(sp.train, perm[:5])
    np.testing.assert_array_equal(sp.val, perm[50:90])
    np.testing.assert_array_equal(sp.test, perm[90:])
    again = splits.Pool(pool_size=50, train_ratio=0.1, seed=2021).split(100)
    np.testing.assert_array_equal(sp.test, again.test)


def test_pool_fgp_sizes_and_disjointness():
    sp = splits.Pool(pool_size=splits.POOL_SIZES["nb201"], train_ratio=0.01, seed=202121).split(15625)
    assert sp.sizes() == {"train": 78, "val": 40, "test": 15625 - 7813 - 40}  # floor(78.13)
    assert not (set(sp.train) & set(sp.val) or set(sp.train) & set(sp.test) or set(sp.val) & set(sp.test))
    default = splits.Pool(train_ratio=0.01).split(15625)  # pool = ceil(n / 2) = 7,813
    assert default.sizes() == sp.sizes()
    assert splits.Pool.default_seeds == (21, 2021, 202121)


def test_pool_errors():
    with pytest.raises(ArchrepError, match="exactly one"):
        splits.Pool(pool_size=50)
    with pytest.raises(ArchrepError, match="exactly one"):
        splits.Pool(pool_size=50, train_ratio=0.1, train_size=5)
    with pytest.raises(ArchrepError, match="exceeds"):
        splits.Pool(pool_size=50, train_size=51).split(100)
    with pytest.raises(ArchrepError, match="no test"):
        splits.Pool(pool_size=60, train_size=5).split(100)
    with pytest.raises(ArchrepError, match="no training"):
        splits.Pool(pool_size=50, train_ratio=0.01).split(100)
    with pytest.raises(ArchrepError, match="train_ratio"):
        splits.Pool(pool_size=50, train_ratio=1.5)


def test_registry_and_describe():
    assert splits.list_protocols() == ["in-domain", "leave-family-out", "pool", "space-fraction"]
    with pytest.raises(UnknownNameError, match="space-fraction"):
        splits.create("space_fraction", train_size=5)
    with pytest.raises(ArchrepError, match="valid arguments"):
        splits.create("pool", train_size=5, pool=3)
    for proto in (splits.create("space-fraction", train_size=781, seed=2),
                  splits.create("pool", train_ratio=0.01, seed=2021)):
        d = json.loads(json.dumps(proto.describe()))
        assert d["name"] == proto.name and d["seed"] == proto.seed
    assert splits.create("pool", train_size=7, seed=21).describe()["train_size"] == 7


# ---------------------------------------------------------------------------- family protocols
GROUPS = np.array(["vgg"] * 20 + ["resnet"] * 30 + ["nb201"] * 11)


def test_in_domain_holds_out_a_tenth_of_every_family():
    sp = splits.create("in-domain", groups=GROUPS, seed=4).split(len(GROUPS))
    assert sp.val.size == 0 and not set(sp.train) & set(sp.test)
    assert np.array_equal(np.sort(np.concatenate([sp.train, sp.test])), np.arange(len(GROUPS)))
    assert {f: int((GROUPS[sp.test] == f).sum()) for f in ("vgg", "resnet", "nb201")} == {"vgg": 2, "resnet": 3,
                                                                                             "nb201": 1}
    again = splits.InDomain(GROUPS, seed=4).split(len(GROUPS))
    np.testing.assert_array_equal(sp.test, again.test)
    assert not np.array_equal(sp.test, splits.InDomain(GROUPS, seed=5).split(len(GROUPS)).test)
    capped = splits.InDomain(GROUPS, train_per_family=4, seed=4).split(len(GROUPS))
    np.testing.assert_array_equal(capped.test, sp.test)  # the cap leaves the test set alone
    assert capped.train.size == 12 and set(capped.train) <= set(sp.train)
    d = json.loads(json.dumps(splits.InDomain(GROUPS, seed=4).describe()))
    assert d["name"] == "in-domain" and d["families"] == {"nb201": 11, "resnet": 30, "vgg": 20} and d["seed"] == 4


def test_leave_family_out_leaves_exactly_one_family_out():
    for held_out in ("nb201", "resnet", "vgg"):
        sp = splits.create("leave-family-out", groups=GROUPS, held_out=held_out, seed=0).split(len(GROUPS))
        assert set(GROUPS[sp.test]) == {held_out} and sp.test.size == int((GROUPS == held_out).sum())
        assert set(GROUPS[sp.train]) == {"nb201", "resnet", "vgg"} - {held_out}
        assert sp.train.size + sp.test.size == len(GROUPS) and sp.val.size == 0
    capped = [splits.LeaveFamilyOut(GROUPS, "vgg", train_per_family=5, seed=s).split(len(GROUPS)) for s in (0, 0, 1)]
    assert capped[0].train.size == 10
    np.testing.assert_array_equal(capped[0].train, capped[1].train)
    assert not np.array_equal(capped[0].train, capped[2].train)
    assert splits.LeaveFamilyOut(GROUPS, "vgg").describe()["held_out"] == "vgg"


def test_family_protocol_errors():
    with pytest.raises(ArchrepError, match="no architecture of family 'alexnet'.*nb201, resnet, vgg"):
        splits.LeaveFamilyOut(GROUPS, "alexnet")
    with pytest.raises(ArchrepError, match="at least two families"):
        splits.LeaveFamilyOut(["vgg"] * 3, "vgg")
    with pytest.raises(ArchrepError, match="labels for 61 architectures, the dataset 60"):
        splits.InDomain(GROUPS).split(60)
    with pytest.raises(ArchrepError, match="family 'alexnet' has 1 architecture"):
        splits.InDomain([*GROUPS, "alexnet"]).split(len(GROUPS) + 1)
    with pytest.raises(ArchrepError, match="test_fraction"):
        splits.InDomain(GROUPS, test_fraction=1.0)
    with pytest.raises(ArchrepError, match="train_per_family"):
        splits.InDomain(GROUPS, train_per_family=0)
    with pytest.raises(ArchrepError, match="non-empty sequence"):
        splits.InDomain([])
