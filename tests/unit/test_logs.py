"""A user-facing error from a job is one line on stderr and in the job's log, never a traceback."""

import subprocess
import sys


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
