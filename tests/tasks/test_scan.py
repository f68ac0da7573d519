"""SCAN generator: hand-computed meanings, split invariants, Zipf knobs, determinism, bad knobs."""

import numpy as np
import pytest

import datafactors as df
from datafactors.tasks import scan
from datafactors.tasks._common import Vocab, zipf_counts
from datafactors.tasks.scan import interpret, make_scan


@pytest.mark.parametrize(
    "command, actions",
    [
        ("jump twice", "JUMP JUMP"),
        ("walk left", "LTURN WALK"),
        ("turn right twice", "RTURN RTURN"),
        ("run opposite right thrice", "RTURN RTURN RUN RTURN RTURN RUN RTURN RTURN RUN"),
        ("look around left", "LTURN LOOK LTURN LOOK LTURN LOOK LTURN LOOK"),
        ("turn around left", "LTURN LTURN LTURN LTURN"),
        ("walk and jump", "WALK JUMP"),
        ("walk after jump", "JUMP WALK"),
        ("jump opposite left and walk thrice", "LTURN LTURN JUMP WALK WALK WALK"),
        # the example of the SCAN README
        ("jump opposite left after walk around left", "LTURN WALK LTURN WALK LTURN WALK LTURN WALK LTURN LTURN JUMP"),
        ("dax right", "RTURN DAX"),  # any word acts as a primitive
    ],
)
def test_interpret_by_hand(command, actions):
    assert interpret(command) == actions


def test_interpret_rejects_non_commands():
    for bad in ("turn", "left", "walk sideways", "walk opposite"):
        with pytest.raises(df.ConfigError):
            interpret(bad)


@pytest.fixture(scope="module")
def splits():
    return {k: make_scan(split_kind=k, n_train=600, n_test=200, n_ood=200, seed=3) for k in scan.SPLITS}


def test_every_output_is_the_meaning_and_y_its_length_bucket(splits):
    for data in splits.values():
        for ds in (data.train, data.test, data.ood):
            e = ds.extra
            assert [interpret(c) for c in e["input"]] == list(e["output"])
            lengths = e["output"].str.split().str.len().to_numpy()
            np.testing.assert_array_equal(lengths, e["output_length"])
            for j, (lo, hi) in enumerate(scan.LENGTH_BUCKETS):
                assert ((lengths >= lo) & (lengths <= hi))[ds.y == j].all()
            assert ds.class_names == scan.CLASS_NAMES


def test_x_holds_the_input_tokens_with_one_width(splits):
    data = splits["simple"]
    vocab = Vocab(data.train.extra.attrs["source_vocab"][1:])
    for ds in (data.train, data.test, data.ood):
        assert ds.n_features == scan.WIDTH
        assert [vocab.decode(r) for r in ds.X] == list(ds.extra["input"])
        assert ds.X.dtype == np.float32 and (ds.X == np.round(ds.X)).all()


def test_held_out_sets_are_unseen(splits):
    for data in splits.values():
        train = set(data.train.extra["input"])
        test, ood = set(data.test.extra["input"]), set(data.ood.extra["input"])
        assert not train & test and not train & ood and not test & ood
        assert data.test.n == len(test) == 200 and data.ood.n == len(ood) == 200


def test_length_split_outputs_are_longer_at_test(splits):
    data = splits["length"]
    assert data.train.extra["output_length"].max() <= 22
    assert data.test.extra["output_length"].max() <= 22
    assert data.ood.extra["output_length"].min() > data.train.extra["output_length"].max()


def test_add_primitive_jump_only_alone_in_training(splits):
    data = splits["add_primitive"]
    with_jump = data.train.extra["input"].str.split().apply(lambda w: "jump" in w)
    assert set(data.train.extra.loc[with_jump, "input"]) == {"jump"}
    assert with_jump.sum() == 1  # isolated_copies
    assert not data.test.extra["input"].str.contains("jump").any()
    ood = data.ood.extra["input"]
    assert ood.str.split().apply(lambda w: "jump" in w).all() and (ood != "jump").all()
    more = make_scan(split_kind="add-primitive", n_train=100, n_test=10, n_ood=10, isolated_copies=7, seed=0)
    assert (more.train.extra["input"] == "jump").sum() == 7 and more.train.n == 100


def test_n_primitives_and_eval_primitives():
    d = make_scan(n_primitives=20, eval_primitives=4, n_train=800, n_test=100, n_ood=100, seed=0)
    used = set(",".join(d.train.extra["primitives"]).split(",")) - {""}
    assert used <= set(scan.PRIMITIVES[:20]) and len(used) == 20
    assert "jump" in used and "walk" in used and scan.PRIMITIVES[19] in used
    for ds in (d.test, d.ood):
        assert set(",".join(ds.extra["primitives"]).split(",")) - {""} <= set(scan.SCAN_PRIMITIVES)
    assert d.train.n_features == d.test.n_features == scan.WIDTH


def _slope(counts: np.ndarray) -> float:
    ranks = np.arange(1, len(counts) + 1)
    return float(np.polyfit(np.log(ranks), np.log(counts), 1)[0])


def test_zipf_counts_exact():
    assert zipf_counts(5, 5, 0.0).tolist() == [1] * 5
    c = zipf_counts(100, 1000, 1.2)
    assert c.sum() == 1000 and (np.diff(c) <= 0).all()
    top = c[c >= 5]
    assert abs(_slope(top) + 1.2) < 0.1


@pytest.mark.parametrize("s", [0.8, 1.5])
def test_zipf_over_examples_repetition_follows_the_exponent(s):
    d = make_scan(zipf_s=s, zipf_over="examples", n_train=1000, n_test=20, n_ood=20, seed=0)
    counts = np.sort(d.train.extra["command_id"].value_counts().to_numpy())[::-1]
    assert counts.sum() == 1000
    assert abs(_slope(counts[counts >= 5]) + s) < 0.15
    # each command id is one command
    assert d.train.extra.groupby("command_id")["input"].nunique().max() == 1
    flat = make_scan(zipf_s=0.0, n_train=1000, n_test=20, n_ood=20, seed=0)
    assert flat.train.extra["input"].nunique() == 1000


def test_zipf_over_primitives_follows_the_exponent():
    s = 1.0
    d = make_scan(zipf_s=s, zipf_over="primitives", n_primitives=16, n_train=3000, n_test=20, n_ood=20, seed=1)
    clauses = d.train.extra["input"].str.split(" and | after ", regex=True).explode()
    verbs = clauses.str.split().str[0]
    freq = verbs[verbs != "turn"].value_counts()
    counts = np.array([freq.get(p, 0) for p in scan.PRIMITIVES[:16]], dtype=float)
    assert (counts > 0).all()
    assert abs(_slope(counts) + s) < 0.2


def test_zipf_over_lengths_shares_follow_the_ranks():
    d = make_scan(zipf_s=1.0, zipf_over="lengths", n_train=900, n_test=20, n_ood=20, seed=0)
    shares = np.sort(d.train.extra["n_words"].value_counts().to_numpy())[::-1]
    np.testing.assert_array_equal(shares, zipf_counts(len(shares), 900, 1.0))


def test_difficulty_by_length():
    simple = make_scan(difficulty="simple", n_train=500, n_test=20, n_ood=20, seed=0).train.extra
    hard = make_scan(difficulty="hard", n_train=500, n_test=20, n_ood=20, seed=0).train.extra
    assert simple["output_length"].max() < hard["output_length"].min()


def test_deterministic_per_seed():
    a = make_scan(split_kind="length", n_train=200, n_test=50, n_ood=50, zipf_s=1.0, seed=5)
    b = make_scan(split_kind="length", n_train=200, n_test=50, n_ood=50, zipf_s=1.0, seed=5)
    c = make_scan(split_kind="length", n_train=200, n_test=50, n_ood=50, zipf_s=1.0, seed=6)
    for x, y in ((a.train, b.train), (a.test, b.test), (a.ood, b.ood)):
        np.testing.assert_array_equal(x.X, y.X)
        assert x.extra.equals(y.extra)
    assert not np.array_equal(a.train.X, c.train.X)


def test_registered_and_loadable_like_a_builtin():
    train, test, ood = df.load("scan", split=True, split_kind="length", n_train=50, n_test=10, n_ood=10)
    assert train.name == "scan-length" and ood.extra["family"].eq("long").all()
    from datafactors.io import load_builtin

    assert load_builtin("scan", n_train=30, n_test=5, n_ood=5).train.n == 30


@pytest.mark.parametrize(
    "kw, knob",
    [
        ({"n_primitives": 65}, "n_primitives"),
        ({"n_primitives": 3, "split_kind": "add_primitive"}, "n_primitives"),
        ({"zipf_s": -1.0}, "zipf_s"),
        ({"zipf_over": "words"}, "zipf_over"),
        ({"split_kind": "mcd"}, "split_kind"),
        ({"difficulty": "medium"}, "difficulty"),
        ({"eval_primitives": 9}, "eval_primitives"),
        ({"split_kind": "length", "max_output_len": 20}, "max_train_output_len"),
        ({"n_train": 0}, "n_train"),
        ({"n_primitives": 1, "max_output_len": 1, "n_train": 500}, "n_train"),
    ],
)
def test_bad_knobs_name_the_knob(kw, knob):
    with pytest.raises(df.ConfigError, match=knob):
        make_scan(**{"n_train": 20, "n_test": 5, "n_ood": 5, **kw})
