import json

import pytest

from labeldistill.contracts import USAGE
from labeldistill.errors import LabelDistillError
from labeldistill.report.usage import cost_table, load_usage_records


def write(path, **record):
    path.write_text(json.dumps(record))
    return path


def test_cost_sums_parts_per_task_and_labeler(tmp_path):
    files = [
        write(
            tmp_path / "a.json",
            task="t",
            labeler="gpt",
            backend="openai",
            texts=10,
            failed_texts=1,
            truncated_texts=2,
            requests_sent=12,
            cache_hits=0,
            input_tokens=1000,
            output_tokens=20,
            dollars=0.5,
            seconds=2,
        ),
        write(
            tmp_path / "b.json",
            task="t",
            labeler="gpt",
            backend="openai",
            texts=5,
            failed_texts=0,
            truncated_texts=1,
            requests_sent=0,
            cache_hits=5,
            input_tokens=0,
            output_tokens=0,
            dollars=0.0,
            seconds=1,
        ),
        write(
            tmp_path / "c.json",
            task="t",
            labeler="llama",
            backend="openai",
            texts=5,
            failed_texts=0,
            requests_sent=5,
            cache_hits=0,
            input_tokens=50,
            output_tokens=5,
            dollars=None,
            seconds=1,
        ),
    ]
    table = cost_table(load_usage_records(files)).set_index("labeler")
    assert table.loc["gpt", "texts"] == 15 and table.loc["gpt", "requests_sent"] == 12
    assert table.loc["gpt", "cache_hits"] == 5 and table.loc["gpt", "dollars"] == pytest.approx(0.5)
    assert table.loc["llama", "dollars"] != table.loc["llama", "dollars"]  # unknown price: NaN
    assert table.loc["gpt", "truncated_texts"] == 3
    assert table.loc["llama", "truncated_texts"] == 0  # a record from before truncations were counted


def test_a_record_without_its_keys_is_named(tmp_path):
    with pytest.raises(LabelDistillError, match="bad.json"):
        load_usage_records([write(tmp_path / "bad.json", texts=3)])


def test_prompt_cache_and_reasoning_tokens_are_summed_and_older_records_read_as_zero(tmp_path):
    common = {"task": "t", "labeler": "gpt", "backend": "openai", "texts": 4, "failed_texts": 0}
    older = {**common, "truncated_texts": 0, "input_tokens": 400, "output_tokens": 4, "seconds": 1}
    newer = {**older, "prompt_cache_tokens": 300, "reasoning_tokens": 64, "dollars": 0.01}
    USAGE.check(older, "older.json")  # a record written before these were counted still reads
    USAGE.check(newer, "newer.json")
    files = [write(tmp_path / "old.json", **older, dollars=0.02), write(tmp_path / "new.json", **newer)]
    table = cost_table(load_usage_records(files)).set_index("labeler")
    assert table.loc["gpt", "prompt_cache_tokens"] == 300 and table.loc["gpt", "reasoning_tokens"] == 64
    assert table.loc["gpt", "input_tokens"] == 800 and table.loc["gpt", "dollars"] == pytest.approx(0.03)
    with pytest.raises(LabelDistillError, match="reasoning_tokens"):
        USAGE.check({**newer, "reasoning_tokens": "many"}, "bad.json")
