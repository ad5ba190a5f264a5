"""The study's grid (design.py) and the paper's paired comparisons across training sizes."""

from __future__ import annotations

import pytest

from labeldistill.conditions import (
    GAP_FEWSHOT,
    GAP_HUMAN,
    GAP_UNCODED,
    fewshot_condition,
    paper_gaps,
    parse_source,
    student_condition,
)
from labeldistill.config.design import StudyDesign
from labeldistill.errors import LabelDistillError


def config(**extra) -> dict:
    return {
        "seeds": [1, 2, 3],
        "students": {"tfidf": {}},
        "labelers": {"gemma": {"backend": "local", "shots_seeds": [0, 5], "train_sizes": [1000]}, "gpt": {}},
        "train_sizes": [250, 1000],
        **extra,
    }


def test_sizes_come_from_the_labeler_then_human_then_the_global_list():
    design = StudyDesign.from_config(config(human={"train_sizes": [100, 250, 1000]}))
    assert design.train_sizes == {"human": ("100", "250", "1000"), "gemma": ("1000",), "gpt": ("250", "1000")}
    single = StudyDesign.from_config({"seeds": [1], "labelers": {}, "train_size": None})
    assert single.train_sizes == {"human": ("all",)}


def test_each_seed_learns_from_its_prompt_draw_cycling():
    design = StudyDesign.from_config(config())
    assert design.sources_of("gemma") == ["gemma~shots0", "gemma~shots5"]
    assert design.sources_of("gpt") == ["gpt"]
    assert [design.source_for_seed("gemma", seed) for seed in (1, 2, 3)] == [
        "gemma~shots0",
        "gemma~shots5",
        "gemma~shots0",
    ]
    assert design.source_for_seed("gpt", 2) == "gpt" and design.source_for_seed("human", 2) == "human"
    assert parse_source("gemma~shots5") == ("gemma", 5) and parse_source("gemma") == ("gemma", None)


def test_a_label_source_keeps_its_labelers_settings_but_not_the_studys():
    labelers = {"gemma": {"backend": "local", "shots_seed": 0, "shots_seeds": [0, 5], "train_sizes": [1000]}}
    assert StudyDesign.source_settings(labelers, "gemma~shots5") == {"backend": "local", "shots_seed": 5}


def test_augmented_labelers_train_above_their_human_count():
    design = StudyDesign.from_config(config(augment=[{"human": 250, "with": "gpt"}]))
    assert design.augmentation("human250+gpt") == (250, "gpt")
    # its rest comes from gpt's labels, and its first 250 texts keep the human's
    assert design.rest_labeler("human250+gpt") == "gpt" and design.human_count("human250+gpt") == 250
    assert design.rest_labeler("gemma") == "gemma" and design.human_count("gemma") is None
    assert design.train_sizes["human250+gpt"] == ("1000",)
    assert design.training_labelers == ["human", "human250+gpt", "gemma", "gpt"]
    names = {c.name for c in design.student_conditions()}
    assert (
        "tfidf@human250+gpt:1000" in names and "tfidf@gemma:1000" in names and "tfidf@gemma:250" not in names
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"human": 250, "with": "nobody"}, "augment\\[0\\].with: 'nobody' is not one of labelers"),
        ({"human": 1000, "with": "gemma"}, "none of gemma's train_sizes \\['1000'\\] is above human: 1000"),
        ({"human": 250, "with": "gpt", "train_sizes": [250]}, "\\['250'\\] must be larger than human: 250"),
    ],
)
def test_bad_augmentation_is_one_line_naming_the_key(entry, message):
    with pytest.raises(LabelDistillError, match=message):
        StudyDesign.from_config(config(augment=[entry]))


def test_paper_gaps_pair_equal_sizes_and_smaller_human_sizes_with_the_llms_largest():
    conditions = [
        student_condition("s", "human", 250),
        student_condition("s", "human", 1000),
        student_condition("s", "gpt", 250),
        student_condition("s", "gpt", 1000),
        student_condition("s", "human250+gpt", 1000),
        fewshot_condition("gpt"),
    ]
    pairs = {(gap.comparison, gap.a.name, gap.b.name) for gap in paper_gaps(conditions)}
    assert pairs == {
        (GAP_HUMAN, "s@human:250", "s@gpt:250"),
        (GAP_HUMAN, "s@human:1000", "s@gpt:1000"),
        (GAP_HUMAN, "s@human:250", "s@gpt:1000"),  # the paper's 250 human against 1,000 LLM labels
        (GAP_FEWSHOT, "fewshot@gpt", "s@gpt:250"),
        (GAP_FEWSHOT, "fewshot@gpt", "s@gpt:1000"),
    }


def test_train_size_and_train_sizes_together_are_refused_at_parse():
    from labeldistill.config.prepare import cross_problems

    config = {"tasks": {}, "train_size": 250, "train_sizes": [100, 250], "labelers": {}, "seeds": [1]}
    assert any(
        line.startswith("config key train_size: give train_sizes or train_size")
        for line in cross_problems(config)[0]
    )


def test_uncoded_students_exist_only_in_tasks_with_uncoded_texts():
    cfg = config(
        tasks={"a": {"uncoded": {"texts": "u.csv"}}, "b": {}},
        students={"tfidf": {}, "bert": {}},
        uncoded={"train_sizes": [500, "all"], "students": ["tfidf"]},
        labelers={"gemma": {}, "both": {"backend": "ensemble", "members": ["gemma", "gpt"]}, "gpt": {}},
    )
    design = StudyDesign.from_config(cfg)
    names = {c.name for c in design.student_conditions("a")}
    assert {"tfidf@gemma~uncoded:500", "tfidf@gemma~uncoded:all", "tfidf@gpt~uncoded:all"} <= names
    assert not any("bert@" in n and "uncoded" in n for n in names)  # only uncoded.students
    assert not any("both~uncoded" in n for n in names)  # an ensemble labels no uncoded texts
    assert not any("uncoded" in c.name for c in design.student_conditions("b"))
    assert design.rest_labeler("gemma~uncoded") == "gemma"
    assert design.uncoded_sources() == ["gemma", "gpt"]
    # The uncoded sizes are no pool sizes: a size above the pool is no problem there.
    assert "gemma~uncoded" not in design.numeric_sizes()


def test_uncoded_students_are_compared_with_every_human_size_and_the_few_shot_llm():
    conditions = [
        student_condition("tfidf", "human", 250),
        student_condition("tfidf", "gemma~uncoded", 1000),
        student_condition("tfidf", "gemma~uncoded", "all"),
        fewshot_condition("gemma"),
    ]
    gaps = {(g.comparison, g.a.name, g.b.name) for g in paper_gaps(conditions)}
    assert gaps == {
        (GAP_UNCODED, "tfidf@human:250", "tfidf@gemma~uncoded:1000"),
        (GAP_UNCODED, "tfidf@human:250", "tfidf@gemma~uncoded:all"),
        (GAP_FEWSHOT, "fewshot@gemma", "tfidf@gemma~uncoded:1000"),
        (GAP_FEWSHOT, "fewshot@gemma", "tfidf@gemma~uncoded:all"),
    }


def test_unsorted_shots_seeds_pair_seeds_with_draws_in_sorted_order():
    design = StudyDesign.from_config(config(labelers={"gemma": {"shots_seeds": [5, 0, 5]}}))
    assert design.sources_of("gemma") == ["gemma~shots0", "gemma~shots5"]
    assert [design.draw_of_seed("gemma", seed) for seed in (1, 2, 3)] == [0, 5, 0]
