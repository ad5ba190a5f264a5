"""Ensembles of labelers (ensemble.py, stages/combine.py): majority vote and Dawid-Skene against
crowd-kit on fixed data, ties, failures, the members' check at parse time, the combine stage's
files and cost, and the members' pairwise agreement in the agreement record."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from crowdkit.aggregation import DawidSkene, MajorityVote
from sklearn.metrics import cohen_kappa_score

from labeldistill.config.design import StudyDesign
from labeldistill.contracts import LABELS, SPLIT, read_table, write_table
from labeldistill.errors import LabelDistillError
from labeldistill.stages import agreement as agreement_stage
from labeldistill.stages import combine as combine_stage
from labeldistill.stats.agreement import pairwise_kappa
from labeldistill.teachers.chat.consistency import tie_break
from labeldistill.teachers.ensemble import NO_MEMBER, combine, dawid_skene, majority_vote, votes_frame
from labeldistill.teachers.settings import check_labeler

# crowd-kit 1.4 uses pandas idioms that pandas 3 deprecates (our wrapper silences them too).
pytestmark = pytest.mark.filterwarnings("ignore::Warning:crowdkit")

LABELS_SET = ["negative", "other"]


def members_of(table: dict[str, list]) -> dict[str, pd.DataFrame]:
    """{source: [label per text t0, t1, ...]} as the members' (id, label) frames."""
    return {
        source: pd.DataFrame({"id": [f"t{i}" for i in range(len(given))], "label": given})
        for source, given in table.items()
    }


def simulated(n_texts=300, seed=7) -> tuple[dict[str, pd.DataFrame], list[str], list[str]]:
    """Five members of known quality labelling texts of known truth, some texts left out."""
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c"]
    truth = rng.choice(3, size=n_texts, p=[0.5, 0.3, 0.2])
    accuracy = {"m1": 0.9, "m2": 0.75, "m3": 0.6, "m4": 0.55, "m5": 0.4}
    ids = [f"t{i:03d}" for i in range(n_texts)]
    members = {}
    for name, p in accuracy.items():
        right = rng.random(n_texts) < p
        other = (truth + rng.integers(1, 3, n_texts)) % 3
        given = np.where(right, truth, other)
        dropped = rng.random(n_texts) < 0.1
        members[name] = pd.DataFrame(
            {"id": ids, "label": [None if d else labels[g] for g, d in zip(given, dropped, strict=True)]}
        )
    return members, ids, labels


# ---- majority vote -------------------------------------------------------------------------
def test_majority_gives_vote_shares_consistency_and_counts_members_who_labelled():
    members = members_of(
        {
            "a": ["negative", "other", "other", None],
            "b": ["negative", "negative", "other", None],
            "c": ["other", "other", None, None],
        }
    )
    ids = ["t0", "t1", "t2", "t3"]
    result, fit = combine(members, ids, LABELS_SET, "majority")
    assert fit == {}
    assert result["label"].tolist()[:3] == ["negative", "other", "other"]
    assert result["probabilities"].tolist()[:3] == [[2 / 3, 1 / 3], [1 / 3, 2 / 3], [0.0, 1.0]]
    assert result["consistency"].tolist()[:3] == [2 / 3, 2 / 3, 1.0]
    assert result["n_samples"].tolist() == [3, 3, 2, 0]
    # No member labelled t3: the ensemble fails on it, saying why.
    assert pd.isna(result.loc[3, "label"]) and result.loc[3, "error"] == NO_MEMBER
    assert result.loc[3, "probabilities"] == []


def test_majority_equals_crowd_kit_where_there_is_no_tie():
    members, ids, labels = simulated()
    votes = votes_frame(members, labels)
    ours = majority_vote(votes, ids, labels).set_index("id")
    theirs = MajorityVote().fit_predict(votes)
    counts = votes.groupby("task")["label"].value_counts().unstack(fill_value=0)
    untied = counts.index[(counts.to_numpy() == counts.max(axis=1).to_numpy()[:, None]).sum(axis=1) == 1]
    assert len(untied) > 200
    assert (ours.loc[untied, "label"] == theirs.loc[untied]).all()


def test_a_tie_is_drawn_per_text_the_same_every_time_and_not_always_the_first_label():
    ids = [f"t{i}" for i in range(200)]
    members = {
        "a": pd.DataFrame({"id": ids, "label": "negative"}),
        "b": pd.DataFrame({"id": ids, "label": "other"}),
    }
    first, _ = combine(members, ids, LABELS_SET, "majority", seed=3)
    again, _ = combine(dict(reversed(members.items())), ids, LABELS_SET, "majority", seed=3)
    assert first["label"].tolist() == again["label"].tolist()  # not the members' order either
    assert first["label"].tolist() == [LABELS_SET[tie_break([0, 1], i, 3)] for i in ids]
    assert 70 < (first["label"] == "negative").sum() < 130
    assert all(p == [0.5, 0.5] for p in first["probabilities"]) and first["consistency"].eq(0.5).all()
    other_seed, _ = combine(members, ids, LABELS_SET, "majority", seed=4)
    assert other_seed["label"].tolist() != first["label"].tolist()


# ---- Dawid-Skene ---------------------------------------------------------------------------
def test_dawid_skene_equals_crowd_kit_on_fixed_data():
    members, ids, labels = simulated()
    votes = votes_frame(members, labels)
    result, fit = dawid_skene(votes, ids, labels, iterations=100, tolerance=1e-5)
    model = DawidSkene(n_iter=100, tol=1e-5).fit(votes)
    result = result.set_index("id")
    assert (result["label"] == model.labels_.reindex(ids)).all()
    expected = model.probas_.reindex(index=ids, columns=labels).to_numpy()
    assert np.allclose(np.stack(result["probabilities"].to_numpy()), expected, atol=1e-12)
    assert fit["iterations"] == len(model.loss_history_)
    assert set(fit["errors"]) == set(members) and math.isclose(sum(fit["prior"].values()), 1.0)
    # The fit finds who is good: the 0.9-accurate member's diagonal beats the 0.4 one's.
    diagonal = {w: np.mean([fit["errors"][w][k][k] for k in labels]) for w in ("m1", "m5")}
    assert diagonal["m1"] > 0.8 > 0.5 > diagonal["m5"]
    # Consistency is the share of voting members agreeing with the ensemble's label.
    votes_t0 = votes[votes["task"] == ids[0]]["label"]
    assert result.loc[ids[0], "consistency"] == pytest.approx(
        (votes_t0 == result.loc[ids[0], "label"]).mean()
    )


def test_dawid_skene_through_combine_leaves_texts_without_votes_failed():
    members, ids, labels = simulated(n_texts=60)
    members["m1"] = members["m1"].assign(label=[None] + members["m1"]["label"].tolist()[1:])
    for name in members:
        members[name].loc[0, "label"] = None
    result, fit = combine(members, ids, labels, "dawid_skene")
    assert pd.isna(result.loc[0, "label"]) and result.loc[0, "error"] == NO_MEMBER
    assert result["label"].iloc[1:].notna().all() and fit["iterations"] >= 1


def test_combine_refuses_one_member_an_unknown_method_and_unknown_labels():
    members = members_of({"a": ["negative"], "b": ["maybe"]})
    with pytest.raises(LabelDistillError, match="at least 2 members"):
        combine({"a": members["a"]}, ["t0"], LABELS_SET, "majority")
    with pytest.raises(LabelDistillError, match="'vote' is not one of"):
        combine(members, ["t0"], LABELS_SET, "vote")
    with pytest.raises(LabelDistillError, match="member b: label 'maybe' is not one of"):
        combine(members, ["t0"], LABELS_SET, "majority")


# ---- pairwise agreement --------------------------------------------------------------------
def test_pairwise_kappa_equals_sklearn_over_the_texts_both_labelled():
    members, ids, labels = simulated(n_texts=120)
    given = {name: frame["label"].tolist() for name, frame in members.items()}
    result = pairwise_kappa(given)
    assert len(result["pairs"]) == 10
    for pair in result["pairs"]:
        pairs = zip(given[pair["a"]], given[pair["b"]], strict=True)
        both = [(x, y) for x, y in pairs if isinstance(x, str) and isinstance(y, str)]
        assert pair["n"] == len(both)
        assert pair["kappa"] == pytest.approx(cohen_kappa_score(*zip(*both, strict=True)))
        assert pair["agreement"] == pytest.approx(np.mean([x == y for x, y in both]))
    assert result["mean_kappa"] == pytest.approx(np.mean([pair["kappa"] for pair in result["pairs"]]))


# ---- the members, checked at parse time ----------------------------------------------------
def design(**labelers) -> StudyDesign:
    gemma = {"backend": "local", "shots_seeds": [0, 1, 2]}
    return StudyDesign.from_config({"seeds": [1], "students": {}, "labelers": {"gemma": gemma, **labelers}})


def test_members_expand_to_prompt_draws_and_single_draws():
    vote = {"backend": "ensemble", "members": ["gemma"]}
    found = design(
        vote=vote, gpt={"backend": "openai"}, mix={"backend": "ensemble", "members": ["gemma~shots1", "gpt"]}
    )
    assert found.members_of("vote") == ["gemma~shots0", "gemma~shots1", "gemma~shots2"]
    assert found.members_of("mix") == ["gemma~shots1", "gpt"]
    assert found.members_of("gemma") == [] and found.ensemble_labelers == ["vote", "mix"]
    assert "vote" in found.llm_sources and "tfidf@vote:all" not in {
        c.name for c in found.student_conditions()
    }


@pytest.mark.parametrize(
    ("members", "message"),
    [
        (["gemma~shots1"], r"at least 2 label sources, got \['gemma~shots1'\]"),
        (["gemma", "vote"], "cannot be its own member"),
        (["gemma", "human"], "human cannot be a member"),
        (["gemma", "gpt"], r"'gpt' is not one of labelers \['gemma'\]"),
        (["gemma~shots5"], r"not a prompt draw of gemma \(its shots_seeds: \[0, 1, 2\]\)"),
        (["gemma", "gemma~shots2"], "gemma~shots2 is a member twice"),
    ],
)
def test_bad_members_stop_with_one_line_naming_the_key(members, message):
    with pytest.raises(LabelDistillError, match=rf"^config key labelers\.vote\.members: .*{message}"):
        design(vote={"backend": "ensemble", "members": members})


def test_an_ensemble_of_ensembles_is_refused():
    inner = {"backend": "ensemble", "members": ["gemma"]}
    with pytest.raises(LabelDistillError, match="'inner' is an ensemble itself"):
        design(inner=inner, vote={"backend": "ensemble", "members": ["gemma", "inner"]})


def test_ensemble_settings_have_no_model_and_no_prompt():
    settings = check_labeler("vote", {"backend": "ensemble", "members": ["gemma"]})
    assert settings["method"] == "majority" and settings["seed"] == 0 and "model" not in settings
    with pytest.raises(LabelDistillError, match=r"labelers\.vote\.shots: a setting of the local"):
        check_labeler("vote", {"backend": "ensemble", "members": ["gemma"], "shots": 4})
    with pytest.raises(LabelDistillError, match=r"labelers\.vote\.members: required"):
        check_labeler("vote", {"backend": "ensemble"})


# ---- the combine stage ---------------------------------------------------------------------
PARTS = {"pool": 6, "val": 4, "test": 4}


def write_member(path, ids, given, source):
    write_table(
        pd.DataFrame(
            {
                "id": ids,
                "label": given,
                "probabilities": [[1.0, 0.0] if g == "negative" else [0.0, 1.0] if g else [] for g in given],
                "error": [None if g else "failed" for g in given],
                "labeler": source,
                "backend": "openai",
                "model": "m",
                "prompt_hash": "h",
            }
        ),
        path,
        LABELS,
        labels=LABELS_SET,
    )


def stage_files(tmp_path, failing: int = 0):
    rng = np.random.default_rng(0)
    splits, member_labels, member_usage = {}, {}, {}
    members = ["gpt~shots0", "gpt~shots1", "gpt~shots2"]
    for part, n in PARTS.items():
        ids = [f"{part}{i}" for i in range(n)]
        splits[part] = tmp_path / f"{part}.parquet"
        write_table(pd.DataFrame({"id": ids, "text": "x", "label": "other"}), splits[part], SPLIT)
        member_labels[part], member_usage[part] = [], []
        for k, source in enumerate(members):
            given = list(rng.choice(LABELS_SET, size=n))
            if part == "val":
                given[:failing] = [None] * failing
            path = tmp_path / f"{source}-{part}.parquet"
            write_member(path, ids[::-1], given[::-1], source)
            usage = tmp_path / f"{source}-{part}.json"
            dollars = None if (part == "test" and k == 2) else 0.01 * (k + 1)
            usage.write_text(
                json.dumps(
                    {
                        "requests_sent": n,
                        "cache_hits": 1,
                        "input_tokens": 100,
                        "dollars": dollars,
                        "seconds": 2.0,
                    }
                )
            )
            member_labels[part].append(path)
            member_usage[part].append(usage)
    return splits, members, member_labels, member_usage


def test_combine_stage_writes_every_part_with_its_members_cost(tmp_path):
    splits, members, member_labels, member_usage = stage_files(tmp_path)
    out = {part: tmp_path / "out" / f"{part}.parquet" for part in PARTS}
    usage = {part: tmp_path / "out" / f"{part}.json" for part in PARTS}
    settings = {"backend": "ensemble", "members": ["gpt"], "method": "majority"}
    combine_stage.run(
        splits, members, member_labels, member_usage, LABELS_SET, "vote", settings, out, usage, "t"
    )
    for part, n in PARTS.items():
        frame = read_table(out[part], LABELS)
        assert frame["id"].tolist() == [f"{part}{i}" for i in range(n)]  # the split's order
        assert frame["backend"].eq("ensemble").all() and frame["labeler"].eq("vote").all()
        assert frame["model"].iloc[0] == "majority(gpt~shots0, gpt~shots1, gpt~shots2)"
        assert frame["n_samples"].eq(3).all() and frame["consistency"].isin([2 / 3, 1.0]).all()
        record = json.loads(usage[part].read_text())
        assert record["texts"] == n and record["requests_sent"] == 3 * n and record["cache_hits"] == 3
        assert record["input_tokens"] == 300 and record["seconds"] >= 6.0
        assert record["members"] == members and record["method"] == "majority"
    assert json.loads(usage["pool"].read_text())["dollars"] == pytest.approx(0.06)
    assert json.loads(usage["test"].read_text())["dollars"] is None  # a member's price was unknown


def test_combine_stage_fails_whole_when_no_member_labelled_too_many_texts(tmp_path):
    splits, members, member_labels, member_usage = stage_files(tmp_path, failing=2)
    out = {part: tmp_path / "out" / f"{part}.parquet" for part in PARTS}
    usage = {part: tmp_path / "out" / f"{part}.json" for part in PARTS}
    settings = {"backend": "ensemble", "members": ["gpt"], "method": "dawid_skene"}
    with pytest.raises(LabelDistillError, match=r"labeler vote: 2 of 4 texts failed.*no member labelled"):
        combine_stage.run(
            splits, members, member_labels, member_usage, LABELS_SET, "vote", settings, out, usage, "t"
        )
    assert not any(path.exists() for path in [*out.values(), *usage.values()])


def test_combine_stage_refuses_a_member_file_of_other_texts(tmp_path):
    splits, members, member_labels, member_usage = stage_files(tmp_path)
    write_member(member_labels["val"][1], ["val0", "val1"], ["other", "other"], members[1])
    out = {part: tmp_path / "out" / f"{part}.parquet" for part in PARTS}
    with pytest.raises(
        LabelDistillError, match=r"gpt~shots1-val.parquet: member gpt~shots1's labels do not cover"
    ):
        combine_stage.run(
            splits,
            members,
            member_labels,
            member_usage,
            LABELS_SET,
            "vote",
            {"backend": "ensemble", "members": ["gpt"]},
            out,
            out,
        )


def test_agreement_record_of_an_ensemble_holds_its_members_pairwise_kappa(tmp_path):
    ids = [f"v{i}" for i in range(6)]
    split = tmp_path / "val.parquet"
    write_table(
        pd.DataFrame({"id": ids, "text": "x", "label": ["negative"] * 3 + ["other"] * 3}), split, SPLIT
    )
    given = {
        "gpt~shots0": ["negative", "negative", "other", "other", "other", "negative"],
        "gpt~shots1": ["negative", "other", "other", "other", None, "negative"],
        "gpt~shots2": ["negative", "negative", "negative", "other", "other", "other"],
    }
    paths = {}
    for source, labels in given.items():
        paths[source] = tmp_path / f"{source}.parquet"
        write_member(paths[source], ids[::-1], labels[::-1], source)  # in another order than the split
    out, meta = tmp_path / "agreement.json", {"task": "t", "labeler": "vote"}
    agreement_stage.run(
        split, paths["gpt~shots0"], None, LABELS_SET, "negative", meta, out, member_labels=paths
    )
    record = json.loads(out.read_text())
    kappas = {(pair["a"], pair["b"]): pair["kappa"] for pair in record["members_pairwise"]}
    both = [(x, y) for x, y in zip(given["gpt~shots0"], given["gpt~shots1"], strict=True) if y]
    assert kappas[("gpt~shots0", "gpt~shots1")] == pytest.approx(cohen_kappa_score(*zip(*both, strict=True)))
    assert record["members"] == list(given) and len(kappas) == 3
    assert record["members_pairwise_kappa"] == pytest.approx(np.mean(list(kappas.values())))
    plain = tmp_path / "plain.json"
    agreement_stage.run(split, paths["gpt~shots0"], None, LABELS_SET, "negative", meta, plain)
    assert json.loads(plain.read_text())["members_pairwise_kappa"] is None
