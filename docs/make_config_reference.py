"""Write config/README.md, the reference of every config key, from the declarations.

    python docs/make_config_reference.py           # writes config/README.md
    python docs/make_config_reference.py --check   # exit 1 when the committed file is stale

The top-level keys come from schemas/config.schema.yaml (their `description`, `default`, type
and bounds); a labeler's and a student's settings from the frozen dataclasses that declare them
(`setting(default, check, doc)`: teachers/settings.py, students/settings.py). A setting's
"expected" column is what its check says when it refuses a value. Light on purpose: PyYAML and
the two settings modules, never torch, scikit-learn or transformers.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"
TARGET = REPO / "config" / "README.md"
COMMAND = "python docs/make_config_reference.py"

# The discriminators: the schema documents them, the sections below are named after them.
DISCRIMINATORS = ("backend", "kind")


def settings_modules():
    """The workflow's own declarations (src/ first, as the Snakefile puts it on the path)."""
    src = str(REPO / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    teachers = importlib.import_module("labeldistill.teachers.settings")
    students = importlib.import_module("labeldistill.students.settings")
    return teachers, students


# ---- text -----------------------------------------------------------------------------------
def text(value: str) -> str:
    """Prose fit for a table cell: one line, pipes escaped, angle brackets outside code spans."""
    parts = " ".join(str(value).split()).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def literal(value: Any) -> str:
    """A value as it is written in a config file."""
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
    return f"`{dumped.strip().removesuffix('...').strip()}`"


def table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    lines = ["| key | default | expected | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `{key}` | {default} | {text(expected)} | {text(meaning)} |"
        for key, default, expected, meaning in rows
    ]
    return lines


# ---- the schema -----------------------------------------------------------------------------
NOUNS = {"integer": "integers", "number": "numbers", "object": "mappings", "boolean": "booleans"}


def expected(node: dict, plural: bool = False) -> str:
    """What the schema accepts at `node`, in words ("an integer >= 1"; `plural`: "integers >= 1")."""
    if "enum" in node:
        return "one of " + ", ".join(str(choice) for choice in node["enum"])
    if "const" in node:
        return str(node["const"])
    if "anyOf" in node:
        return " or ".join(expected(option, plural) for option in node["anyOf"])
    kinds = node.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    words = []
    for kind in kinds:
        if kind in ("integer", "number"):
            bounds = [
                f"{sign} {node[key]}"
                for key, sign in (
                    ("minimum", ">="),
                    ("exclusiveMinimum", ">"),
                    ("maximum", "<="),
                    ("exclusiveMaximum", "<"),
                )
                if key in node
            ]
            noun = NOUNS[kind] if plural else ("an integer" if kind == "integer" else "a number")
            words.append(" ".join([noun, " and ".join(bounds)]).strip())
        elif kind == "string":
            empty = "non-empty " if node.get("minLength", 0) >= 1 else ""
            noun = empty + ("strings" if plural else "string")
            words.append(noun if plural else f"a {noun}")
        elif kind == "array":
            at_least = f" (at least {node['minItems']})" if node.get("minItems") else ""
            items = expected(node.get("items", {}), plural=True) or "values"
            words.append(f"{'lists' if plural else 'a list'} of {items}{at_least}")
        elif kind == "object":
            words.append("mappings" if plural else "a mapping")
        elif kind == "boolean":
            words.append("booleans" if plural else "true or false")
        elif kind == "null":
            words.append("null")
    return " or ".join(words)


def condition(node: dict) -> str:
    """`if: {properties: {backend: {const: ensemble}}}` as 'backend is ensemble'."""
    tests = node.get("properties", {})
    return " and ".join(f"{key} is {test.get('const', test.get('enum'))}" for key, test in tests.items())


def requirements(node: dict) -> dict[str, str]:
    """How each child key of an object schema is required: always, or under its `if`."""
    out = {key: "required" for key in node.get("required", [])}
    if "if" in node:
        when = condition(node["if"])
        for key in node.get("then", {}).get("required", []):
            out[key] = f"required when {when}"
        for key in node.get("else", {}).get("required", []):
            out[key] = f"required unless {when}"
    return out


def children(node: dict) -> tuple[dict, dict, str, dict | None]:
    """The keys below a schema node, their requirements, the path step they add (".<name>" for
    a mapping of named entries, "[]" for a list of mappings) and that entry's own schema."""
    if "properties" in node:
        return node["properties"], requirements(node), "", None
    named = node.get("additionalProperties")
    if isinstance(named, dict) and named.get("type") == "object":
        return named.get("properties", {}), requirements(named), ".<name>", named
    items = node.get("items")
    if node.get("type") == "array" and isinstance(items, dict) and "properties" in items:
        return items["properties"], requirements(items), "[]", None
    return {}, {}, "", None


def schema_rows(key: str, node: dict, required: str, rows: list, described: dict) -> None:
    """Rows for `key` and every key below it, depth first."""
    default = required or (literal(node["default"]) if "default" in node else "none")
    below, needs, step, entry = children(node)
    meaning = node.get("description", "")
    described[key] = meaning
    if not below or meaning:
        rows.append((key, default, expected(node), meaning))
    if entry and entry.get("description"):
        described[key + step] = entry["description"]
        rows.append((key + step, "", "a mapping", entry["description"]))
    for child, child_node in below.items():
        schema_rows(f"{key}{step}.{child}", child_node, needs.get(child, ""), rows, described)


def schema_sections(schema: dict, described: dict) -> list[str]:
    lines = []
    top_required = set(schema.get("required", []))
    for key, node in schema["properties"].items():
        rows: list = []
        schema_rows(key, node, "required" if key in top_required else "", rows, described)
        lines += ["", f"### `{key}`", ""]
        if children(node)[0] and node.get("type") != "array":
            # An object: its description opens the section, its keys fill the table.
            if node.get("description"):
                lines += [text(node["description"]), ""]
            rows = [row for row in rows if row[0] != key]
        lines += table(rows)
    return lines


# ---- the declared settings ------------------------------------------------------------------
class _Refused:
    """A value every check refuses, so that it says what it would accept."""

    def __repr__(self) -> str:
        return "?"


def check_words(field: dataclasses.Field) -> str:
    check = field.metadata.get("check")
    return (check(_Refused()) or "") if check else ""


def default_words(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return literal(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return literal(field.default_factory())
    return "required"


def own_fields(cls: type) -> list[dataclasses.Field]:
    """The settings `cls` declares or redeclares itself (not those it only inherits)."""
    own = cls.__dict__.get("__annotations__", {})
    return [field for field in dataclasses.fields(cls) if field.name in own]


def summary(cls: type) -> str:
    """The first paragraph of a class's own docstring (not the one dataclass makes up)."""
    doc = cls.__dict__.get("__doc__") or ""
    if doc.startswith(f"{cls.__name__}("):
        return ""
    return " ".join(doc.strip().split("\n\n")[0].split())


def family(concrete: dict[str, type]) -> list[tuple[type, list[str]]]:
    """Every settings class behind `concrete` (name -> class), bases first, with the names it serves."""
    seen: dict[type, list[str]] = {}
    for name, cls in concrete.items():
        for base in reversed(cls.__mro__):
            if dataclasses.is_dataclass(base):
                seen.setdefault(base, []).append(name)
    return sorted(seen.items(), key=lambda item: (-len(item[1]), list(concrete).index(item[1][0])))


def declared_rows(prefix: str, cls: type, described: dict, undocumented: list) -> list[tuple]:
    rows = []
    for field in own_fields(cls):
        if field.name in DISCRIMINATORS:
            continue
        key = f"{prefix}.{field.name}"
        meaning = field.metadata.get("doc", "")
        if not meaning:
            undocumented.append(f"{cls.__module__}.{cls.__name__}.{field.name}")
            meaning = described.get(key, "")
        rows.append((key, default_words(field), check_words(field), meaning))
    return rows


def declared_section(
    title: str,
    prefix: str,
    discriminator: str,
    concrete: dict,
    source: str,
    described: dict,
    undocumented: list,
    common: type | None = None,
) -> list[str]:
    """One section per settings class; `common` (settings of every kind) first."""
    lines = ["", f"## {title}", ""]
    lines += [
        f"Declared in `{source}`, one frozen dataclass per {discriminator}; the workflow checks every",
        f"`{prefix}` block against it when it parses the config, fills in the defaults, and stops on an",
        "unknown key (naming the nearest valid one) or a value its check refuses.",
    ]
    classes = [(common, list(concrete))] if common else []
    for cls, names in classes + family(concrete):
        if not own_fields(cls):
            continue
        whom = ", ".join(names)
        heading = f"{discriminator} {whom}" if len(names) < len(concrete) else f"every {discriminator}"
        lines += ["", f"### {heading} (`{cls.__name__}`)", ""]
        if summary(cls):
            lines += [text(summary(cls)), ""]
        rows = declared_rows(prefix, cls, described, undocumented)
        lines += table(rows) if rows else ["Nothing beyond the settings above."]
    return lines


# ---- the page -------------------------------------------------------------------------------
def render(undocumented: list | None = None) -> str:
    """config/README.md as the declarations say it should read."""
    undocumented = [] if undocumented is None else undocumented
    teachers, students = settings_modules()
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    described: dict[str, str] = {}
    schema_lines = schema_sections(schema, described)
    lines = [
        "# Configuration reference",
        "",
        f"<!-- Generated by docs/make_config_reference.py; do not edit: run `{COMMAND}`. -->",
        "",
        "Every key a config file (`config.yaml`, `config/*.yaml`, your own `--configfile`) may hold.",
        '*default* is what an unset key means ("required": the run stops without it; "none": unset);',
        "*expected* is what the workflow accepts, checked before any job runs. A config given with",
        "`--configfile` replaces the default one. Give lists (such as `seeds`) in a file: `--config",
        "seeds=[1,2]` makes strings. How the keys fit together: the [README](../README.md), and for",
        "labelers [docs/teachers.md](../docs/teachers.md), for the study's design",
        "[docs/statistics.md](../docs/statistics.md), for a corpus [docs/corpus.md](../docs/corpus.md),",
        "for `resources` [docs/cluster.md](../docs/cluster.md).",
        "",
        "## Top-level keys",
        "",
        "From `schemas/config.schema.yaml`, which also fills in the defaults.",
        *schema_lines,
        *declared_section(
            "Labeler settings: `labelers.<name>`",
            "labelers.<name>",
            "backend",
            teachers.SETTINGS_BY_BACKEND,
            "src/labeldistill/teachers/settings.py",
            described,
            undocumented,
        ),
        *declared_section(
            "Student settings: `students.<name>`",
            "students.<name>",
            "kind",
            students.SETTINGS_BY_KIND,
            "src/labeldistill/students/settings.py",
            described,
            undocumented,
            common=students.StudentPlacement,
        ),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when config/README.md is stale")
    parser.add_argument("--undocumented", action="store_true", help="list declared settings without a doc")
    args = parser.parse_args(argv)
    undocumented: list[str] = []
    page = render(undocumented)
    if args.undocumented:
        print("\n".join(undocumented))
        return 0
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != page:
            print(f"config/README.md is stale: run `{COMMAND}` and commit it", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(page, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
