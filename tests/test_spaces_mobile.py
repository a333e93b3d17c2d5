"""The FBNet and Once-for-All MobileNetV3 spaces: encodings, hand-checked graph shapes and costs.
(The SearchSpace contract itself is checked for every space in tests/test_spaces.py.)"""
from __future__ import annotations

import json

import pytest

from archrep import spaces
from archrep.errors import ArchrepError
from archrep.spaces import fbnet, ofa
from archrep.spaces.mobilenet import make_divisible
from archrep.spaces.ofa import OFAArch, from_lists

ALL_SKIP = ("skip",) * fbnet.NUM_LAYERS


# ============================================================================ FBNet
def test_fbnet_key_is_the_op_index_list():
    space = spaces.get("fbnet")
    arch = ("k5_e6", "skip", "k3_e1_g2") + ("k3_e1",) * 19
    assert space.key(arch) == "781" + "0" * 19
    assert space.parse(" 781" + "0" * 19 + " ") == arch
    with pytest.raises(ArchrepError, match="22 digits"):
        space.parse("9" * 22)
    with pytest.raises(ArchrepError, match="'k7_e6', not a block"):
        space.key(("k7_e6",) + ALL_SKIP[1:])


def test_fbnet_all_skip_costs_by_hand():
    """Only the stem, the 6 projecting skips (stage-first layers that change width), the head and
    the classifier cost MACs: 32*32*3*16*9 (stem) + 32*32*16*24 + 16*16*24*32 + 8*8*32*64 +
    8*8*64*112 + 4*4*112*184 + 4*4*184*352 (projections; strides 1,1,2,2,1,2,1) + 4*4*352*1504
    (head) + 1504*100 (classifier) = 11,608,960."""
    g = spaces.get("fbnet").to_graph(ALL_SKIP)
    assert g.num_nodes == 28 and g.ops[0] == "input" and g.ops[-1] == "output"
    assert g.ops[2] == "skip"  # 16 -> 16, stride 1: the identity
    assert g.ops.count("conv1x1-bn-relu") == 6 + 1  # projections + head
    assert g.attrs["macs"] == 11_608_960
    head = g.node_attrs[-4]
    assert (head["side"], head["channels"]) == (4, 1504) and g.node_attrs[-2]["channels"] == 100


@pytest.mark.parametrize("block, macs", [
    ("k3_e6", 32 * 32 * 16 * 96 * 2 + 32 * 32 * 96 * 9),      # expand + project + depthwise
    ("k3_e1_g2", 32 * 32 * 16 * 16 // 2 * 2 + 32 * 32 * 16 * 9),  # two grouped 1x1 + depthwise
])
def test_fbnet_block_macs_by_hand(block, macs):
    node = fbnet.arch_to_graph((block,) + ALL_SKIP[1:]).node_attrs[2]
    assert node["macs"] == macs and node["side"] == 32 and node["channels"] == 16


def test_fbnet_block_order_matches_the_shared_file(shared_data_dir):
    archs = json.loads((shared_data_dir / "fbnet" / "latency_help.json").read_text())["archs"]
    assert all([fbnet.BLOCKS[i] for i in a["op_idx_list"]] == a["arch_str"] for a in archs)


# ============================================================================ OFA
STAGES = (((3, 3), (5, 4)), ((7, 6), (3, 3), (5, 6)), ((3, 4),) * 4, ((5, 3), (7, 4)), ((3, 6), (5, 6)))


def test_ofa_lists_drop_unused_slots_and_key_round_trips():
    ks = [3, 5, 7, 7, 7, 3, 5, 3] + [3] * 4 + [5, 7, 5, 5] + [3, 5, 7, 7]
    e = [3, 4, 6, 6, 6, 3, 6, 3] + [4] * 4 + [3, 4, 3, 3] + [6, 6, 3, 3]
    a = from_lists(ks, e, [2, 3, 4, 2, 2], 192)
    assert a == OFAArch(192, STAGES)
    ks2 = list(ks)
    ks2[2] = 3  # an unused slot of stage 1
    assert from_lists(ks2, e, [2, 3, 4, 2, 2], 192) == a
    space = spaces.get("ofa")
    key = space.key(a)
    assert key == "r192/k3e3.k5e4/k7e6.k3e3.k5e6/k3e4.k3e4.k3e4.k3e4/k5e3.k7e4/k3e6.k5e6"
    assert space.parse(key) == a


@pytest.mark.parametrize("ks, e, d, r, match", [
    ([3] * 20, [3] * 20, [2, 2, 2, 2, 5], 224, "depths"),
    ([3] * 19, [3] * 20, [2] * 5, 224, "'ks'"),
    ([3] * 20, [3] * 20, [2] * 5, 230, "resolution 230"),
    ([3] * 20, [3] * 20, [2] * 5, 224.0, "resolution 224.0"),
    ([3] * 20, [5] * 20, [2] * 5, 224, "block"),
])
def test_ofa_lists_errors(ks, e, d, r, match):
    with pytest.raises(ArchrepError, match=match):
        from_lists(ks, e, d, r)


def test_ofa_graph_structure():
    g = spaces.get("ofa").to_graph(OFAArch(224, STAGES))
    n_blocks = sum(len(s) for s in STAGES)
    assert g.num_nodes == n_blocks + 8 and g.attrs["input_shape"] == [3, 224, 224]
    blocks = g.node_attrs[3:3 + n_blocks]
    stage_of = [s for s, blocks_ in enumerate(STAGES) for _ in blocks_]
    assert [b["se"] for b in blocks] == [ofa.STAGE_SE[s] for s in stage_of]
    assert [b["act"] for b in blocks] == [ofa.STAGE_ACTS[s] for s in stage_of]
    assert all(op.endswith("_se") == b["se"] for op, b in zip(g.ops[3:], blocks))
    assert g.node_attrs[-5]["side"] == 7 and g.node_attrs[-5]["channels"] == 960  # 224 / 2**5
    assert [g.ops[-4], g.node_attrs[-3]["channels"], g.node_attrs[-2]["channels"]] == ["global_avg_pool", 1280, 1000]


def test_ofa_width_and_make_divisible():
    assert [make_divisible(v) for v in (24, 19.2, 134.4, 20)] == [24, 24, 136, 24]
    wide = spaces.get("ofa", width_mult=1.2).to_graph(OFAArch(160, STAGES))
    assert wide.node_attrs[1]["channels"] == 24 and wide.node_attrs[-3]["channels"] == 1536
    with pytest.raises(ArchrepError, match="width_mult"):
        spaces.get("ofa", width_mult=1.3)


@pytest.mark.parametrize("name", ["fbnet", "ofa"])
def test_not_enumerable(name):
    space = spaces.get(name)
    assert not space.finite
    with pytest.raises(NotImplementedError, match="not finite"):
        space.enumerate()
