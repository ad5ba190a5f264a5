"""A user-facing error from a job is one line on stderr and in the job's log, never a traceback."""

import errno
import io
import logging
import os
import subprocess
import sys
import tempfile

import pytest

from labeldistill import logs
from labeldistill.logs import job_name_of, progress_bar


def run_script(tmp_path, statement: str) -> subprocess.CompletedProcess:
    """A job script: logging set up by job_errors, one log line, then `statement`."""
    log_path = tmp_path / "logs" / "job.log"
    lines = [
        "import logging",
        "from labeldistill.errors import LabelDistillError",
        "from labeldistill.logs import job_errors",
        f"with job_errors({str(log_path)!r}):",
        '    logging.getLogger("labeldistill.stage").info("working")',
        f"    {statement}",
    ]
    script = tmp_path / "job.py"
    script.write_text("\n".join(lines) + "\n")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)


def test_a_labeldistill_error_is_one_line_and_exit_status_1(tmp_path):
    done = run_script(
        tmp_path,
        'raise LabelDistillError("labeler x: cannot reach http://h/v1 (connection refused);\\nrerun")',
    )
    line = "labeldistill: labeler x: cannot reach http://h/v1 (connection refused); rerun"
    assert done.returncode == 1
    assert done.stderr == line + "\n" and done.stdout == ""
    log = (tmp_path / "logs" / "job.log").read_text()
    assert "working" in log and log.rstrip().endswith(line) and "Traceback" not in log


def test_a_bug_keeps_its_traceback_in_the_log_and_on_stderr(tmp_path):
    done = run_script(tmp_path, "raise KeyError('column')")
    assert done.returncode == 1 and "Traceback" in done.stderr and "KeyError: 'column'" in done.stderr
    log = (tmp_path / "logs" / "job.log").read_text()
    assert "unexpected error" in log and "KeyError: 'column'" in log
    assert "unexpected error" not in done.stderr  # the log's own line stays in the log


def test_warnings_still_reach_the_terminal(tmp_path):
    done = run_script(tmp_path, 'logging.getLogger("labeldistill.stage").warning("slow server")')
    assert done.returncode == 0 and "slow server" in done.stderr


THEN = "then rerun snakemake; finished jobs are kept"


def assert_one_line_and_traceback_in_log(tmp_path, done, line):
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == line + "\n"  # one line, no traceback
    log = (tmp_path / "logs" / "job.log").read_text()
    assert "working" in log and line.removeprefix("labeldistill: ") in log and "Traceback" in log


@pytest.mark.skipif(os.geteuid() == 0, reason="chmod does not keep root from writing")
def test_a_read_only_folder_is_one_line_naming_it(tmp_path):
    folder = tmp_path / "results" / "tweets"
    folder.mkdir(parents=True)
    folder.chmod(0o500)
    try:
        done = run_script(tmp_path, f"open({str(folder / 'test.parquet')!r}, 'w')")
    finally:
        folder.chmod(0o700)
    line = (
        f"labeldistill: permission denied in {folder} (on {folder / 'test.parquet'}): "
        f"give this user read and write permission there, {THEN}"
    )
    assert_one_line_and_traceback_in_log(tmp_path, done, line)


def test_a_full_disk_is_one_line_naming_the_folder(tmp_path):
    partial = tmp_path / "results" / ".test.parquet.partial-123"  # as contracts writes a table
    done = run_script(
        tmp_path,
        f"import errno; raise OSError(errno.ENOSPC, 'No space left on device', {str(partial)!r})",
    )
    line = (
        f"labeldistill: no space left on the device of {partial.parent} "
        f"(while writing {partial.parent / 'test.parquet'}): free space there, {THEN}"
    )
    assert_one_line_and_traceback_in_log(tmp_path, done, line)


def test_a_full_disk_under_a_write_naming_no_file_names_the_jobs_output_folder(tmp_path):
    # pyarrow's and an open file's writes raise ENOSPC without a file name.
    output = tmp_path / "results" / "tweets" / "metrics" / "fewshot@gemma.json"
    done = run_script(
        tmp_path,
        f"import errno, types; snakemake = types.SimpleNamespace(output=[{str(output)!r}]); "
        "raise OSError(errno.ENOSPC, 'Error writing bytes to file')",
    )
    line = (
        f"labeldistill: no space left on the device of {output.parent} "
        f"(while writing this job's outputs): free space there, {THEN}"
    )
    assert_one_line_and_traceback_in_log(tmp_path, done, line)


def test_storage_errors_without_a_file_and_other_os_errors():
    full = OSError(errno.EDQUOT, "Disk quota exceeded")
    assert logs.storage_line(full) == (
        f"labeldistill: the disk quota is used up on the device of the folders this job writes: "
        f"free space, {THEN}"
    )
    read_only = OSError(errno.EROFS, "Read-only file system", "/mnt/r/out.json")
    assert logs.storage_line(read_only) == (
        f"labeldistill: the device of /mnt/r is read-only (while writing /mnt/r/out.json): "
        f"make it writable, {THEN}"
    )
    assert logs.storage_line(PermissionError(errno.EACCES, "Permission denied")) is None  # a socket's
    assert logs.storage_line(FileNotFoundError(errno.ENOENT, "No such file", "x")) is None


def test_another_os_error_keeps_its_traceback(tmp_path):
    done = run_script(tmp_path, f"open({str(tmp_path / 'absent' / 'x')!r})")
    assert done.returncode == 1 and "Traceback" in done.stderr and "FileNotFoundError" in done.stderr


# ---- progress -------------------------------------------------------------------------------
class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_job_is_named_by_its_log_file():
    assert (
        job_name_of("results/logs/train/t/minilm/gemma/n250/seed1.log") == "train t/minilm/gemma/n250/seed1"
    )
    assert job_name_of("/w/results/logs/annotate/t/gemma/val.log") == "annotate t/gemma/val"
    assert job_name_of("results/logs/report.log") == "report"
    assert job_name_of("elsewhere/job.log") == "job"


def test_off_a_terminal_a_bar_is_log_lines_naming_its_part(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="labeldistill.progress")
    with progress_bar(total=3, desc="t/val gemma", unit="text", leave=True, file=io.StringIO()) as bar:
        bar.update(3)
    assert not caplog.records  # done within PROGRESS_SECONDS: the job's own summary says it
    monkeypatch.setattr(logs, "PROGRESS_SECONDS", 0.0)
    log_file = io.StringIO()
    with progress_bar(
        total=3, desc="tweets_negative/val gemma", unit="text", leave=True, file=log_file
    ) as bar:
        for _ in range(3):
            bar.update(1)
    lines = [record.getMessage() for record in caplog.records]
    assert lines and all(line.startswith("tweets_negative/val gemma: ") for line in lines)
    assert "3/3 text (100%)" in lines[-1] and not any("\r" in line for line in lines)
    assert log_file.getvalue() == ""  # never a bar redrawn into a file


def test_on_a_terminal_bars_of_side_by_side_jobs_take_lines_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    screen = Terminal()
    first = progress_bar(total=10, desc="t/val gemma", file=screen)
    second = progress_bar(total=10, desc="t/test gemma", file=screen)  # another job's, in effect
    assert (first.pos, second.pos) != (0, 0) and abs(first.pos) != abs(second.pos)
    assert not first.leave and first.dynamic_ncols
    first.update(10)
    first.close()
    third = progress_bar(total=10, desc="t/pool gemma", file=screen)
    assert abs(third.pos) == 0  # the first line, free again
    second.close()
    third.close()
    assert "t/val gemma" in screen.getvalue() and "t/test gemma" in screen.getvalue()


def test_a_disabled_bar_writes_nothing(caplog):
    caplog.set_level(logging.INFO, logger="labeldistill.progress")
    screen = Terminal()
    with progress_bar(range(3), desc="t/val gemma", disable=True, file=screen) as bar:
        assert list(bar) == [0, 1, 2]
    assert screen.getvalue() == "" and not caplog.records
