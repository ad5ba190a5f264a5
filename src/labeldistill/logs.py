"""Logging for workflow jobs: everything to the job's log file, warnings also to the terminal.

A thin script wraps its one call in `job_errors`, which also sets up that logging:

    from labeldistill.logs import job_errors

    with job_errors(snakemake.log[0]):
        stage.run(...)

A LabelDistillError (a problem the user can fix) then reaches the user as one line,
"labeldistill: <message>", on stderr and at the end of the job's log, and the job exits with
status 1: no Python traceback. Snakemake prints its own few lines around it (the rule, its
outputs and log, the command that failed); ours is the one line that says what to do.
Any other exception is a bug: its traceback goes to the log and, as Python prints it, to stderr.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labeldistill.errors import LabelDistillError

PREFIX = "labeldistill: "
log = logging.getLogger("labeldistill")


class _FileOnly(logging.Filter):
    """Keeps off the terminal the records that `job_errors` writes there itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "file_only", False)


def configure(log_path: str | Path | None) -> None:
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


@contextmanager
def job_errors(log_path: str | Path | None) -> Iterator[None]:
    """Configure logging to `log_path` (see `configure`), run the block, and turn a
    LabelDistillError into one line on stderr and in the log and exit status 1."""
    configure(log_path)
    try:
        yield
    except LabelDistillError as error:
        line = error_line(error)
        # In the log as "... ERROR labeldistill: <message>": the same words as on the terminal.
        log.error("%s", line.removeprefix(PREFIX), extra={"file_only": True})
        raise SystemExit(line) from None
    except Exception:
        log.exception("the job failed with an unexpected error", extra={"file_only": True})
        raise
