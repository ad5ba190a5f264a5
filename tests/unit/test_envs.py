"""Each rule's conda env lists every distribution that the rule's code imports.

Conda cannot run here, so the envs are checked by reading the code: the rule's `script:`, every
package module it imports (transitively; an import inside a function counts, it runs too), and
the third-party names those import, mapped to the distributions installed in this environment.
Rules, scripts and envs are read from the Snakefile and rules/*.smk: a new rule is checked too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import yaml

from labeldistill.config.fingerprint import PACKAGE, module_closure

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"

# Imported only inside its own backend and not installable on a CPU machine: GPU nodes get it
# from the `vllm` extra, never from these envs.
GPU_ONLY = {"vllm"}
# Names that a listed distribution brings along: openai's own HTTP client (httpx2 from openai 3,
# httpx before; chat_transport imports whichever is there). Listing one would pin it against
# the openai version that conda resolves.
PROVIDED_BY = {"httpx": "openai", "httpx2": "openai"}

DISTRIBUTIONS = importlib.metadata.packages_distributions()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def rule_files() -> dict[str, dict[str, Path | None]]:
    """{rule: {"script": path or None, "conda": path or None}} of every rule of the workflow."""
    rules = {}
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        # A rule's body: its indented (or blank) lines up to the next line at column 0.
        for match in re.finditer(r"^rule (\w+):\n((?:[ \t]+\S.*\n|[ \t]*\n)*)", smk.read_text(), re.M):
            body = match.group(2)
            rules[match.group(1)] = {
                key: (smk.parent / found.group(1)).resolve() if found else None
                for key in ("script", "conda")
                for found in [re.search(rf'^\s+{key}:\s*"([^"]+)"', body, re.M)]
            }
    return rules


RULES = rule_files()


def imported_names(path: Path) -> set[str]:
    """Every absolute module name an import statement anywhere in `path` names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
            # `from pkg import name` may import the module pkg.name
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(script: Path) -> set[str]:
    """Top-level names of what the script and the package code it runs import from outside."""
    files = {script}
    for name in imported_names(script):
        if name.split(".")[0] == PACKAGE:
            files.update(module_closure(SRC, name).values())
    tops = {name.split(".")[0] for path in files for name in imported_names(path)}
    return tops - set(sys.stdlib_module_names) - {PACKAGE}


def env_distributions(env_file: Path) -> set[str]:
    """Canonical names of the conda and pip packages an env file lists."""
    entries = []
    for dependency in yaml.safe_load(env_file.read_text())["dependencies"]:
        entries.extend(dependency["pip"] if isinstance(dependency, dict) else [dependency])
    return {canonical(re.match(r"[A-Za-z0-9._-]+", entry).group()) for entry in entries}


def test_the_rules_are_read_from_the_rule_files():
    # A parse that finds nothing would check nothing.
    assert {"split", "annotate", "estimate_cost", "train", "evaluate_student", "report"} <= set(RULES)
    assert RULES["estimate_cost"] == {
        "script": REPO / "scripts/estimate_cost.py",
        "conda": REPO / "envs/annotate.yaml",
    }
    assert RULES["all"] == {"script": None, "conda": None}


def test_lazy_imports_in_package_functions_count():
    # estimate_cost imports aiohttp and openai only inside functions of the openai transport,
    # and tabulate through the tables module.
    assert {"aiohttp", "tabulate", "openai", "tiktoken"} <= third_party_imports(
        REPO / "scripts/estimate_cost.py"
    )
    assert "vllm" in third_party_imports(REPO / "scripts/annotate.py")


@pytest.mark.parametrize("rule", sorted(name for name, files in RULES.items() if files["script"]))
def test_the_env_of_a_rule_lists_what_its_code_imports(rule):
    script, env_file = RULES[rule]["script"], RULES[rule]["conda"]
    assert env_file is not None, f"rule {rule} runs {script.name} without a conda env"
    listed = env_distributions(env_file)
    missing = {}
    for name in sorted(third_party_imports(script) - GPU_ONLY):
        candidates = [PROVIDED_BY[name]] if name in PROVIDED_BY else DISTRIBUTIONS.get(name)
        assert candidates, f"rule {rule} imports {name}, which is not installed here: add it or allow it"
        if not {canonical(candidate) for candidate in candidates} & listed:
            missing[name] = candidates
    assert not missing, f"envs/{env_file.name} lacks what rule {rule} imports: {missing}"
