import pandas as pd
import pytest

from labeldistill.contracts import (
    LABELS,
    PREDICTIONS,
    SPLIT,
    read_table,
    table_labels,
    table_metadata,
    write_table,
)
from labeldistill.errors import LabelDistillError


def test_round_trip_keeps_columns_probabilities_and_label_order(tmp_path):
    frame = pd.DataFrame(
        {
            "id": ["a", "b"],
            "label": ["other", None],
            "probabilities": [[0.2, 0.8], [0.5, 0.5]],
            "extra": [1, 2],
        }
    )
    path = tmp_path / "p.parquet"
    write_table(frame, path, PREDICTIONS, labels=["negative", "other"])
    back = read_table(path, PREDICTIONS)
    assert list(back.columns) == ["id", "label", "probabilities"]
    assert back["label"].tolist()[0] == "other" and back["label"].isna().tolist() == [False, True]
    assert list(back["probabilities"][0]) == [0.2, 0.8]
    assert table_labels(path) == ["negative", "other"]


def test_reading_the_wrong_table_names_file_and_columns(tmp_path):
    path = tmp_path / "split.parquet"
    write_table(pd.DataFrame({"id": ["1"], "text": ["t"], "label": ["x"]}), path, SPLIT)
    with pytest.raises(LabelDistillError, match=r"split.parquet: not a labels table, missing"):
        read_table(path, LABELS)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(LabelDistillError, match="file not found"):
        read_table(tmp_path / "nope.parquet", SPLIT)


def test_optional_columns_may_be_left_out_and_read_back_as_nulls(tmp_path):
    frame = pd.DataFrame(
        {
            "id": ["1"],
            "label": ["a"],
            "probabilities": [[1.0, 0.0]],
            "error": [None],
            "labeler": ["human"],
            "backend": ["human"],
            "model": [None],
            "prompt_hash": [None],
        }
    )
    path = tmp_path / "labels.parquet"
    write_table(frame, path, LABELS, labels=["a", "b"], metadata={"provenance": '{"model": "m"}'})
    back = read_table(path, LABELS)
    assert list(back.columns) == list(LABELS.columns)
    assert back["consistency"].isna().all() and back["raw"].isna().all()
    assert table_metadata(path, "provenance") == {"model": "m"}
    with pytest.raises(ValueError, match="lacks columns"):
        write_table(frame.drop(columns="label"), path, LABELS)
