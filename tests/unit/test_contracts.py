import pandas as pd
import pytest

from labeldistill.contracts import LABELS, PREDICTIONS, SPLIT, read_table, table_labels, write_table
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
