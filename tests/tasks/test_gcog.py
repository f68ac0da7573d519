"""gCOG-like generator: answers recomputed from the scene, and each split's shift."""

import pytest

import datafactors as df
from datafactors.tasks.gcog import make_gcog


def _solve(text: str) -> str:
    """Answer an instruction by reading the scene, independently of the generator."""
    instr, scene = text.split(" | ")
    objs = [o.split() for o in scene.split(" ; ")]
    out = []
    for part in instr.split(" and "):
        w = part.split()
        if w[0] == "exist":
            out.append("true" if any(o[0] == w[1] and o[1] == w[2] for o in objs) else "false")
        elif w[0] == "color":
            (hit,) = [o for o in objs if o[1] == w[1]]
            out.append(hit[0])
        elif w[0] == "shape":
            (hit,) = [o for o in objs if o[0] == w[1]]
            out.append(hit[1])
        else:
            (hit,) = [o for o in objs if o[0] == w[1] and o[1] == w[2]]
            out += hit[2:]
    return " ".join(out)


@pytest.fixture(scope="module")
def splits():
    return {
        k: make_gcog(split_kind=k, n_train=300, n_test=100, n_ood=100, seed=1)
        for k in ("distractor", "systematic", "productive")
    }


def test_answers_are_right_and_unambiguous(splits):
    for data in splits.values():
        for ds in (data.train, data.test, data.ood):
            for text, out, yi in zip(ds.extra["input"], ds.extra["output"], ds.y, strict=True):
                assert _solve(text) == out  # the (x,) = [...] unpacking also checks uniqueness
                assert ds.class_names[yi] == out.split()[0]
            assert ds.n_features == data.train.n_features


def test_distractor_split(splits):
    d = splits["distractor"]
    assert d.train.extra["n_objects"].max() <= 1 + 2
    assert d.ood.extra["n_objects"].min() >= 3


def test_systematic_split_holds_out_pairs_but_not_values(splits):
    d = splits["systematic"]

    def pairs(ds):
        out = set()
        for text in ds.extra["input"]:
            instr, scene = text.split(" | ")
            out |= {tuple(o.split()[:2]) for o in scene.split(" ; ")}
            out |= {tuple(p.split()[1:3]) for p in instr.split(" and ") if p.split()[0] in ("exist", "where")}
        return out

    train_pairs = pairs(d.train) | pairs(d.test)
    first_targets = {tuple(t.split(",")[0].split()) for t in d.ood.extra["targets"]}
    assert first_targets and not first_targets & train_pairs
    assert {c for c, _ in first_targets} <= {c for c, _ in train_pairs}  # every colour seen
    assert {s for _, s in first_targets} <= {s for _, s in train_pairs}  # every shape seen


def test_productive_split(splits):
    d = splits["productive"]
    assert d.train.extra["depth"].max() == 2 and d.ood.extra["depth"].min() == 3


def test_deterministic():
    a, b = (make_gcog(split_kind="systematic", n_train=40, n_test=10, n_ood=10, seed=7) for _ in range(2))
    assert a.train.extra.equals(b.train.extra) and a.ood.extra.equals(b.ood.extra)


@pytest.mark.parametrize(
    "kw, knob",
    [
        ({"split_kind": "novel"}, "split_kind"),
        ({"n_colors": 2}, "n_colors"),
        ({"max_distractors": 1}, "max_distractors"),
        ({"grid": 2}, "grid"),
        ({"train_depth": 5}, "train_depth"),
        ({"heldout_frac": 0.0}, "heldout_frac"),
    ],
)
def test_bad_knobs(kw, knob):
    with pytest.raises(df.ConfigError, match=knob):
        make_gcog(**kw)
