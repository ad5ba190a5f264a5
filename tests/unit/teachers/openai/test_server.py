import re
import socket
import sys

import pytest

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.openai.server import managed_server
from labeldistill.teachers.prompts.chat import FEW_SHOT_CHAT_TEMPLATE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def static_server(tmp_path):
    """A real HTTP server command whose /v1/models answers 200 (a file of that name)."""
    (tmp_path / "site/v1").mkdir(parents=True)
    (tmp_path / "site/v1/models").write_text('{"data": []}')
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path / "site"),
    ]
    return command, f"http://127.0.0.1:{port}/v1"


def test_server_is_ready_inside_and_stopped_after(static_server, tmp_path):
    command, base_url = static_server
    with managed_server(command, base_url, tmp_path / "server.log", startup_timeout=30) as process:
        assert process.poll() is None
    assert process.poll() is not None


def test_server_is_stopped_when_labeling_fails(static_server, tmp_path):
    command, base_url = static_server
    with pytest.raises(RuntimeError, match="labeling broke"):
        with managed_server(command, base_url, tmp_path / "server.log", startup_timeout=30) as process:
            raise RuntimeError("labeling broke")
    assert process.poll() is not None


def test_server_that_exits_early_is_a_clear_error(tmp_path):
    command = [sys.executable, "-c", "import sys; print('no model file here'); sys.exit(3)"]
    with pytest.raises(LabelDistillError, match=r"exited with code 3.*no model file here"):
        with managed_server(
            command, f"http://127.0.0.1:{free_port()}/v1", tmp_path / "s.log", config_key="labelers.x.server"
        ):
            pass


def test_busy_port_is_refused(static_server, tmp_path):
    command, base_url = static_server
    with managed_server(command, base_url, tmp_path / "a.log", startup_timeout=30):
        with pytest.raises(LabelDistillError, match="already answers"):
            with managed_server(command, base_url, tmp_path / "b.log"):
                pass


def test_the_few_shot_template_field_is_the_template(tmp_path):
    """`vllm serve MODEL --chat-template {few_shot_chat_template}` serves a base model."""
    script = "import sys; print(sys.argv[1] == sys.argv[2], len(sys.argv)); sys.exit(3)"
    command = [sys.executable, "-c", script, "{few_shot_chat_template}", FEW_SHOT_CHAT_TEMPLATE]
    with pytest.raises(LabelDistillError, match=re.escape(": True 3)")):
        with managed_server(command, f"http://127.0.0.1:{free_port()}/v1", tmp_path / "s.log"):
            pass
