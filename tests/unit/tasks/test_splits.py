import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.splits import SplitSizes, split_task


def make_texts(n=100, share_positive=0.3):
    n_pos = int(n * share_positive)
    return pd.DataFrame(
        {
            "id": [f"t{i:03d}" for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "label": ["negative"] * n_pos + ["other"] * (n - n_pos),
        }
    )


def test_parts_are_disjoint_sized_and_stratified():
    parts = split_task(make_texts(), SplitSizes(test=30, val=20, pool=40), seed=1)
    ids = [set(part["id"]) for part in parts.values()]
    assert [len(part) for part in parts.values()] == [40, 20, 30]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for part in parts.values():
        assert part["label"].eq("negative").mean() == pytest.approx(0.3, abs=0.03)


def test_pool_none_takes_the_rest():
    parts = split_task(make_texts(), SplitSizes(test=30, val=20), seed=1)
    assert len(parts["pool"]) == 50


def test_same_seed_same_split_other_seed_other_split():
    texts = make_texts()
    a = split_task(texts, SplitSizes(test=30, val=20), seed=7)
    b = split_task(texts, SplitSizes(test=30, val=20), seed=7)
    c = split_task(texts, SplitSizes(test=30, val=20), seed=8)
    assert a["test"]["id"].tolist() == b["test"]["id"].tolist()
    assert a["test"]["id"].tolist() != c["test"]["id"].tolist()


def test_too_small_task_names_the_config_key():
    with pytest.raises(LabelDistillError, match="config key split.*task 'tiny' has 100"):
        split_task(make_texts(), SplitSizes(test=80, val=30), seed=1, task="tiny")
