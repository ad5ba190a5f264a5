import pandas as pd
import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.tasks.spec import TaskSpec, load_coder_labels, load_texts


def spec(path, **extra):
    settings = {"texts": str(path), "codebook": "cb.md", "labels": ["negative", "other"], **extra}
    return TaskSpec.from_config("t", settings)


def write(tmp_path, rows, name="texts.csv", columns=("id", "text", "label")):
    path = tmp_path / name
    pd.DataFrame(rows, columns=list(columns)).to_csv(path, index=False)
    return path


def test_loads_and_renames_columns(tmp_path):
    path = write(
        tmp_path, [["1", "so bad", "negative"], ["2", "fine", "other"]], columns=("doc", "body", "code")
    )
    frame = load_texts(spec(path, id_column="doc", text_column="body", label_column="code"))
    assert frame.to_dict("list") == {
        "id": ["1", "2"],
        "text": ["so bad", "fine"],
        "label": ["negative", "other"],
    }


@pytest.mark.parametrize(
    "rows, message",
    [
        ([["1", "a", "negative"], ["1", "b", "other"]], r"line 3: duplicate id '1'"),
        ([["1", "a", "negative"], ["2", "  ", "other"]], r"line 3: empty text"),
        ([["1", "a", "negative"], ["2", "b", "positive"]], r"line 3: label 'positive' is not one of"),
    ],
)
def test_bad_rows_name_the_file_and_line(tmp_path, rows, message):
    path = write(tmp_path, rows)
    with pytest.raises(LabelDistillError, match=message) as error:
        load_texts(spec(path))
    assert str(path) in str(error.value)


def test_missing_column_lists_present_ones(tmp_path):
    path = write(tmp_path, [["1", "a"]], columns=("id", "text"))
    with pytest.raises(LabelDistillError, match=r"missing column\(s\) \['label'\]"):
        load_texts(spec(path))


def test_positive_label_must_be_a_label():
    with pytest.raises(LabelDistillError, match="tasks.t.positive_label"):
        spec("x.csv", positive_label="positive")


def test_coder_labels_checked(tmp_path):
    path = write(
        tmp_path,
        [["1", "r01", "negative"], ["1", "r02", "meh"]],
        name="c.csv",
        columns=("id", "coder", "label"),
    )
    with pytest.raises(LabelDistillError, match=r"c.csv, line 3: label 'meh'"):
        load_coder_labels(path, ("negative", "other"))


def test_encoding_and_separator_are_named_then_used(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("id;text;label\n1;un café;a\n2;très bien;b\n".encode("cp1252"))
    spec = TaskSpec.from_config("t", {"texts": str(path), "codebook": "c.md", "labels": ["a", "b"]})
    with pytest.raises(
        LabelDistillError, match=r"t.csv, line 2: not utf-8 \(byte 0xe9\); set tasks.t.encoding: cp1252"
    ):
        load_texts(spec)
    spec = TaskSpec.from_config(
        "t", {"texts": str(path), "codebook": "c.md", "labels": ["a", "b"], "encoding": "cp1252"}
    )
    with pytest.raises(LabelDistillError, match=r"the header is separated by ';': set tasks.t.sep: ';'"):
        load_texts(spec)
    spec = TaskSpec.from_config(
        "t", {"texts": str(path), "codebook": "c.md", "labels": ["a", "b"], "encoding": "cp1252", "sep": ";"}
    )
    assert list(load_texts(spec)["text"]) == ["un café", "très bien"]


def test_line_numbers_follow_quoted_newlines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,text,label\n1,"two\nlines",a\n2,"three\nlong\nlines",b\n3,fine,c\n')
    spec = TaskSpec.from_config("t", {"texts": str(path), "codebook": "c.md", "labels": ["a", "b"]})
    with pytest.raises(LabelDistillError, match=r"t.csv, line 7: label 'c' is not one of"):
        load_texts(spec)
