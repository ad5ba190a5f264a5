"""Logging for workflow jobs: everything to the job's log file, warnings also to the terminal.

A thin script wraps its one call in `job_errors`, which also sets up that logging:

    from labeldistill.logs import job_errors

    with job_errors(snakemake.log[0]):
        stage.run(...)

A LabelDistillError (a problem the user can fix) then reaches the user as one line,
"labeldistill: <message>", on stderr and at the end of the job's log, and the job exits with
status 1: no Python traceback. Snakemake prints its own few lines around it (the rule, its
outputs and log, the command that failed); ours is the one line that says what to do.
A full disk, a read-only folder or one the user may not write in (an OSError ENOSPC, EDQUOT,
EROFS or EACCES) is one line too, naming the folder; its traceback stays in the log.
Any other exception is a bug: its traceback goes to the log and, as Python prints it, to stderr.

Progress bars come from `progress_bar`: on a terminal a tqdm bar named by its task and part, on
a line of its own (two jobs side by side never draw on one line) and gone when done; off a
terminal (a cluster job, CI) a log line every `PROGRESS_SECONDS`, not a bar redrawn into the log.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from labeldistill.errors import LabelDistillError

PREFIX = "labeldistill: "
log = logging.getLogger("labeldistill")
progress_log = logging.getLogger("labeldistill.progress")
# Off a terminal a bar's state is logged at most this often (and once when it ends, with leave).
PROGRESS_SECONDS = 30.0
LOG_LINE = (
    "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {rate_fmt}, {elapsed}<{remaining}{postfix}"
)
# Terminal lines handed out to the bars of jobs running side by side on one machine.
BAR_SLOTS = 32
# The job this process runs, as its bars name it (`job_name`); set by `configure`.
_job = {"name": ""}


class _FileOnly(logging.Filter):
    """Keeps off the terminal the records that `job_errors` writes there itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


def configure(log_path: str | Path | None) -> None:
    _job["name"] = job_name_of(log_path) if log_path else ""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setLevel(logging.WARNING)
    handlers[0].addFilter(_FileOnly())
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


def error_line(error: BaseException) -> str:
    """The one line a user sees for `error`: the prefix and the message, newlines folded."""
    return PREFIX + " ".join(str(error).split())


def error_lines(error: BaseException) -> str:
    """The lines of an error that holds several problems (ConfigProblems), one per problem."""
    lines = getattr(error, "lines", None) or [str(error)]
    return "\n".join(PREFIX + " ".join(str(line).split()) for line in lines)


def warning_line(message: str) -> str:
    return f"{PREFIX}warning: {' '.join(str(message).split())}"


# What a folder's refusal means, the file it names, and what to do about it.
STORAGE_ERRORS = {
    errno.ENOSPC: ("no space left on the device of {folder}", "while writing", "free space there"),
    errno.EDQUOT: ("the disk quota is used up on the device of {folder}", "while writing", "free space"),
    errno.EROFS: ("the device of {folder} is read-only", "while writing", "make it writable"),
    errno.EACCES: ("permission denied in {folder}", "on", "give this user read and write permission there"),
}
PARTIAL = re.compile(r"^\.(?P<name>.+)\.partial-\d+$")  # contracts._write_whole's hidden sibling


def storage_line(error: BaseException) -> str | None:
    """The one line for an OSError of a full, read-only or forbidden folder (see
    `STORAGE_ERRORS`), naming the folder of `error.filename` (of the job's outputs, see
    `_job_folders`, when it names none); None for any other error."""
    if not isinstance(error, OSError) or error.errno not in STORAGE_ERRORS:
        return None
    what, doing, fix = STORAGE_ERRORS[error.errno]
    if error.filename is None:
        if error.errno == errno.EACCES:  # a socket's or a process's, not a folder's
            return None
        # A write to an open file (pyarrow's, json's) names none: the job's outputs' folders do.
        folders = _job_folders()
        where = ", ".join(folders) if folders else "the folders this job writes"
        writing = " (while writing this job's outputs)" if folders else ""
    else:
        path = Path(os.fsdecode(error.filename))
        partial = PARTIAL.match(path.name)
        file = path.with_name(partial["name"]) if partial else path
        where, writing = str(path.parent), f" ({doing} {file})"
    then = "then rerun snakemake; finished jobs are kept"
    return f"{PREFIX}{what.format(folder=where)}{writing}: {fix}, {then}"


def _job_folders() -> list[str]:
    """The folders of the outputs of the Snakemake script this process runs (its `snakemake`
    object); none outside Snakemake."""
    job = getattr(sys.modules.get("__main__"), "snakemake", None)
    files = [str(file) for file in getattr(job, "output", None) or []]
    return list(dict.fromkeys(str(Path(file).parent) for file in files))


@contextmanager
def job_errors(log_path: str | Path | None) -> Iterator[None]:
    """Configure logging to `log_path` (see `configure`), run the block, and turn a
    LabelDistillError, or an OSError of a full, read-only or forbidden folder
    (`storage_line`), into one line on stderr and in the log and exit status 1."""
    configure(log_path)
    try:
        yield
    except LabelDistillError as error:
        line = error_line(error)
        # In the log as "... ERROR labeldistill: <message>": the same words as on the terminal.
        log.error("%s", line.removeprefix(PREFIX), extra={"file_only": True})
        raise SystemExit(line) from None
    except Exception as error:
        line = storage_line(error)
        if line is None:
            log.exception("the job failed with an unexpected error", extra={"file_only": True})
            raise
        # The log may sit on the same full disk: a failed log write stays off the terminal.
        logging.raiseExceptions = False
        log.exception("%s", line.removeprefix(PREFIX), extra={"file_only": True})
        raise SystemExit(line) from None


# ---- progress -------------------------------------------------------------------------------
def job_name_of(log_path: str | Path) -> str:
    """A job's name from its log file: results/logs/train/t/minilm/gemma/n250/seed1.log ->
    "train t/minilm/gemma/n250/seed1" (the rule, then its wildcards)."""
    parts = Path(log_path).with_suffix("").parts
    after = parts[parts.index("logs") + 1 :] if "logs" in parts[:-1] else parts[-1:]
    return " ".join(filter(None, [after[0], "/".join(after[1:])]))


def job_name() -> str:
    """The name of the workflow job this process runs (its log file's, see `job_name_of`), or ""."""
    return _job["name"]


class _LogLines:
    """A file for tqdm that logs each state it draws as one line, never a carriage return."""

    def write(self, text: str) -> None:
        line = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text).strip()  # no cursor moves, no \r
        if line:
            progress_log.info("%s", line)

    def flush(self) -> None:
        pass


def _terminal_slot() -> tuple[int, IO | None]:
    """The lowest terminal line no other bar on this machine holds (an flock per line, freed
    when the bar closes or its process ends), and the open lock file."""
    import fcntl

    folder = Path(tempfile.gettempdir()) / f"labeldistill-bars-{os.getuid()}"
    try:
        folder.mkdir(exist_ok=True)
        for slot in range(BAR_SLOTS):
            handle = open(folder / str(slot), "w")  # held open: the lock lasts as long as the bar
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return slot, handle
            except OSError:
                handle.close()
    except OSError:
        pass
    return 0, None


def progress_bar(
    iterable: Iterable | None = None,
    *,
    desc: str,
    total: float | None = None,
    unit: str = "it",
    disable: bool = False,
    leave: bool = False,
    file: IO | None = None,
    **options: Any,
):
    """A tqdm progress bar named `desc` (name the task and part: "tweets_negative/val gemma").

    On a terminal (`file`, default stderr): as wide as the terminal, on a line no other job's bar
    holds, and gone when done (`leave` is for logs). Elsewhere: from `PROGRESS_SECONDS` on, a log
    line (logger labeldistill.progress, into the job's log) every `PROGRESS_SECONDS`, and the
    last state when it ends if `leave`. `options` go to tqdm (vLLM's `desc` gives way to ours).
    """
    from tqdm import tqdm  # the terminal one: a notebook's widget would not log lines

    file = file or sys.stderr
    on_terminal = bool(getattr(file, "isatty", lambda: False)())
    options = {**options, "desc": desc, "total": total, "unit": unit, "disable": disable}
    if disable:
        return tqdm(iterable, **options)
    if not on_terminal:
        # Nothing for a bar done within PROGRESS_SECONDS (the job logs its own summary).
        every = {"mininterval": PROGRESS_SECONDS, "maxinterval": PROGRESS_SECONDS, "delay": PROGRESS_SECONDS}
        options.update(file=_LogLines(), leave=leave, bar_format=LOG_LINE, **every)
        return tqdm(iterable, **options)
    slot, lock = _terminal_slot()
    options.update(file=file, leave=False, dynamic_ncols=True, position=slot)
    options.setdefault("mininterval", 0.5)
    bar = tqdm(iterable, **options)
    if lock is not None:
        close = bar.close

        def close_and_free() -> None:
            close()
            lock.close()

        bar.close = close_and_free
    return bar
