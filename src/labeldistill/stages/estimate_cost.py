"""Stage: what the configured API labeling would cost at most, before a request is sent.

For every task x `openai` labeler: the requests still to send for the coded parts (pool, val,
test) and, for a task with uncoded texts, for the first n of them at every size n of
`uncoded.train_sizes` (texts x samples, less what the response cache already holds), their
prompt tokens (tiktoken where it knows the model) over the texts as they would be sent, cut to
`max_text_tokens` (the texts cut are counted too), the worst-case output tokens (every answer
at max_tokens) and the dollars that makes at the price table's rates (batch prices for a
labeler with `api: batch`). The total per labeler is what the run pays: the coded parts and
the largest uncoded size. Needs only the splits and the uncoded plan: nothing is labelled and
no server is asked."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from labeldistill.conditions import ALL
from labeldistill.contracts import SPLIT, read_table
from labeldistill.report.table_formats import write_tables
from labeldistill.report.usage import total_or_unknown
from labeldistill.teachers.openai.teacher import estimate_api_cost
from labeldistill.teachers.prompts.examples import with_question
from labeldistill.teachers.prompts.few_shot import few_shot_examples
from labeldistill.teachers.settings import OpenAISettings, parse_labeler

log = logging.getLogger(__name__)

ESTIMATE_COLUMNS = [
    "task",
    "labeler",
    "texts",
    "model",
    "api",
    "requests",
    "cached_requests",
    "truncated_texts",
    "prompt_tokens",
    "max_output_tokens",
    "dollars_max",
    "token_method",
]
TOTAL = "all tasks"
CODED = "coded (pool, val, test)"


def estimate_rows(
    split_files: Mapping[str, Mapping[str, Path]],
    tasks: Mapping[str, Mapping],
    labelers: Mapping[str, OpenAISettings],
    cache_dir: Path | None = None,
    uncoded: Mapping[str, Mapping] | None = None,
) -> pd.DataFrame:
    """One row per task and API labeler for the coded parts together and one per uncoded size,
    then one total per labeler (the coded parts and the largest uncoded size: what the run pays).

    `split_files` maps task -> part -> split file; `tasks` maps task -> {labels, codebook} and
    optionally the task's `question` (a one-vs-rest task's, `TaskSpec.question`);
    `labelers` holds the settings of the labelers to estimate; `uncoded` maps a task with
    uncoded texts to {"texts": the plan's texts file, "sizes": ['1000', 'all']}.
    """
    rows, uncoded = [], uncoded or {}
    for task, parts in split_files.items():
        codebook = with_question(
            Path(tasks[task]["codebook"]).read_text(encoding="utf-8"), tasks[task].get("question", "")
        )
        labels: Sequence[str] = tasks[task]["labels"]
        pool = read_table(parts["pool"], SPLIT)
        texts = [text for part in parts.values() for text in read_table(part, SPLIT)["text"]]
        batches = [(CODED, texts, True)]
        if task in uncoded:
            planned = list(read_table(uncoded[task]["texts"], SPLIT)["text"])
            sizes = list(uncoded[task]["sizes"])
            for size in sizes:
                n = len(planned) if size == ALL else min(int(size), len(planned))
                batches.append(
                    (
                        f"uncoded: first {n}" + (" (all)" if size == ALL else ""),
                        planned[:n],
                        size == sizes[-1],
                    )
                )
        for labeler, settings in labelers.items():
            examples = few_shot_examples(pool, settings, labeler)
            for what, batch, paid in batches:
                estimate = estimate_api_cost(batch, codebook, labels, examples, settings, cache_dir, labeler)
                rows.append(
                    {"task": task, "labeler": labeler, "texts": what, **estimate.to_dict(), "_paid": paid}
                )
    frame = pd.DataFrame(rows, columns=[*ESTIMATE_COLUMNS, "_paid"])
    if frame.empty:
        return frame[ESTIMATE_COLUMNS]
    totals = (
        frame[frame["_paid"].astype(bool)]
        .groupby("labeler", sort=False)
        .agg(
            model=("model", "first"),
            api=("api", "first"),
            requests=("requests", "sum"),
            cached_requests=("cached_requests", "sum"),
            truncated_texts=("truncated_texts", "sum"),
            prompt_tokens=("prompt_tokens", "sum"),
            max_output_tokens=("max_output_tokens", "sum"),
            dollars_max=("dollars_max", total_or_unknown),
            token_method=("token_method", "first"),
        )
    )
    totals = totals.reset_index().assign(task=TOTAL, texts="what the run labels")
    return pd.concat([frame[ESTIMATE_COLUMNS], totals[ESTIMATE_COLUMNS]], ignore_index=True)


def run(
    split_files: Mapping[str, Mapping[str, Path]],
    tasks: Mapping[str, Mapping],
    labelers: Mapping[str, Mapping],
    tables_dir: Path,
    cache_dir: Path | None = None,
    uncoded: Mapping[str, Mapping] | None = None,
) -> None:
    """Write cost_estimate.csv, .md and .tex into `tables_dir`; `labelers` holds the config
    blocks of the labelers to estimate, parsed here once."""
    parsed = {labeler: parse_labeler(labeler, block) for labeler, block in labelers.items()}
    frame = estimate_rows(split_files, tasks, parsed, cache_dir, uncoded)
    if not labelers:
        log.warning("no labeler with backend openai in the config: nothing would be paid")
    for row in frame[frame["task"] == TOTAL].itertuples():
        dollars = (
            "unknown (no price for the model)" if pd.isna(row.dollars_max) else f"${row.dollars_max:.2f}"
        )
        log.warning(
            "%s (%s, api %s): %d requests to send, %d cached, at most %s",
            row.labeler,
            row.model,
            row.api,
            row.requests,
            row.cached_requests,
            dollars,
        )
    write_tables({"cost_estimate": frame}, Path(tables_dir))
