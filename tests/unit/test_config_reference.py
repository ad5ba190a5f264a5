"""The documentation holds: config/README.md is what docs/make_config_reference.py writes from
the declarations, the generator stays light, and every relative link of the guides leads to a
file (and a heading) that exists."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "docs" / "make_config_reference.py"
GUIDES = [REPO / name for name in ("README.md", "CHANGELOG.md", "bench/README.md", "config/README.md")]
GUIDES += sorted((REPO / "docs").glob("*.md"))

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def load_generator():
    spec = importlib.util.spec_from_file_location("make_config_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_config_reference_is_what_the_generator_writes():
    committed = (REPO / "config" / "README.md").read_text(encoding="utf-8")
    stale = "config/README.md is stale: run python docs/make_config_reference.py"
    assert committed == load_generator().render(), stale


def test_the_generator_imports_no_heavy_library():
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('g', {str(GENERATOR)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module); module.render()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'sklearn', 'transformers'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    heading = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", heading).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def test_every_relative_link_of_the_guides_leads_somewhere():
    broken = []
    for guide in GUIDES:
        text = FENCE.sub("", guide.read_text(encoding="utf-8"))
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            name, _, anchor = target.partition("#")
            path = (guide.parent / name).resolve() if name else guide
            where = f"{guide.relative_to(REPO)} -> {target}"
            if not path.exists():
                broken.append(f"{where}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{where}: no such heading")
    assert broken == []
