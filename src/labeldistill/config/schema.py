"""The config's JSON Schema (schemas/config.schema.yaml): the one source of the top-level keys'
defaults (split, evaluation, resources, ...) for code that reads a config the schema did not fill."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


@functools.cache
def load_schema(path: Path = SCHEMA) -> dict:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def schema_defaults(*keys: str) -> dict:
    """The defaults declared under properties.<key>.properties... (e.g. "resources", "train")."""
    node = load_schema()
    for key in keys:
        node = node["properties"][key]
    return {name: spec["default"] for name, spec in node.get("properties", {}).items() if "default" in spec}
