"""The workflow's parse (rules/common.smk) and `labeldistill check` import nothing heavy: every
`snakemake` call, dry runs included, pays for what they import."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ["matplotlib", "scipy", "sentence_transformers", "setfit", "sklearn", "torch", "transformers"]

PROBE = """
import json, sys
for line in {imports!r}:
    exec(line)
from labeldistill.cli import main
status = main(["check", "--configfile", {config!r}])
heavy = sorted({{name.split(".")[0] for name in sys.modules}} & set({heavy!r}))
print(json.dumps({{"status": status, "heavy": heavy}}))
"""


def common_smk_imports() -> list[str]:
    """The package imports of rules/common.smk, as written there."""
    text = (ROOT / "rules" / "common.smk").read_text(encoding="utf-8")
    return re.findall(r"^(?:from labeldistill\S* import .+|import labeldistill\S*)$", text, flags=re.M)


def default_config(folder: Path) -> Path:
    """The default config with its task files' paths made absolute (checked from `folder`)."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for task in config["tasks"].values():
        for key in ("texts", "codebook", "coder_labels"):
            if key in task:
                task[key] = str(ROOT / task[key])
        for block in ("corpus", "uncoded"):
            if isinstance(task.get(block), dict) and "texts" in task[block]:
                task[block]["texts"] = str(ROOT / task[block]["texts"])
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_parse_path_imports_nothing_heavy(tmp_path):
    imports = common_smk_imports()
    assert any("config.prepare" in line for line in imports)
    probe = PROBE.format(imports=imports, config=str(default_config(tmp_path)), heavy=HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,  # the checked task files are cached under tmp_path/.snakemake/
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["status"] == 0, done.stderr
    assert found["heavy"] == [], f"the parse path imports {found['heavy']}"
