"""Config values that become folder and file names of the run's outputs, checked as names when
the config is parsed: the names of tasks, labelers and students (the keys of their blocks) and
the name of a local labeler's model (its file or folder's name, which names its record).

Each must be one plain name: never `.` or `..`, no path separator, no leading dot (a hidden
file) or dash (read as an option), only the characters the workflow's wildcards match
(rules/common.smk), so that no path built from it leaves its folder or escapes every rule. The
names built from these are then safe too: one-vs-rest tasks (`<task>.<label>`, the label's
other characters replaced by `_`) and prompt draws (`<labeler>~shots<integer>`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

# The schema's propertyNames patterns say the same (tests/unit/config/test_names.py).
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
VALID = "a name starts with a letter, digit or _ and holds only letters, digits, _ . - (e.g. stance_2024)"
KINDS = {"tasks": "task", "labelers": "labeler", "students": "student"}
# Names the workflow gives itself: the source of the human labels, the few-shot condition.
RESERVED = {"labelers": ("human", "the human labels"), "students": ("fewshot", "the few-shot condition")}


def name_problem(name: object) -> str | None:
    """Why `name` cannot be one folder or file name of the outputs, or None when it can."""
    if not isinstance(name, str):
        return f"it is not a string (quote it in the YAML: '{name}')"
    if not name.strip():
        return "it is empty"
    if name in (".", ".."):
        return "it names the folder it belongs in or the one above, not a folder of its own"
    if "/" in name or "\\" in name:
        return "it holds a path separator"
    if name[0] == ".":
        return "a leading dot would hide it"
    if name[0] == "-":
        return "a leading dash would read as a command-line option"
    others = sorted(set(re.sub(r"[A-Za-z0-9_.-]", "", name)))
    if others:
        return f"it holds {' '.join('a space' if char == ' ' else repr(char) for char in others)}"
    # What the rules above make sure of, asked of the path itself.
    if not NAME.fullmatch(name) or posixpath.normpath(f"root/{name}") != f"root/{name}":
        return "its path would leave the folder it belongs in"
    return None


def _shown(name: object) -> str:
    text = repr(name)
    return text if len(text) <= 60 else text[:57] + "..."


def name_line(section: str, name: object) -> str | None:
    """The one line for a bad key of `section` (tasks, labelers, students), or None."""
    reason = name_problem(name)
    named = f"config key {section}: the {KINDS.get(section, 'config')} name {_shown(name)}"
    reserved, what = RESERVED.get(section, (None, None))
    if reason is None and name == reserved:
        return f"{named} is taken by {what}; choose another"
    return None if reason is None else f"{named} is not valid: {reason}; {VALID}"


def name_problems(config: Mapping) -> list[str]:
    """One line per name in `config` that would not make a safe folder or file name."""
    from labeldistill.teachers.local.models import local_model_name

    problems = []
    for section in KINDS:
        block = config.get(section)
        for name in block if isinstance(block, Mapping) else ():
            line = name_line(section, name)
            if line:
                problems.append(line)
    labelers = config.get("labelers")
    for name, block in labelers.items() if isinstance(labelers, Mapping) else ():
        model = block.get("model") if isinstance(block, Mapping) else None
        if not isinstance(model, str) or block.get("backend") != "local":
            continue
        reason = name_problem(local_model_name(model))
        if reason:
            problems.append(
                f"config key labelers.{name}.model: the model's name {_shown(local_model_name(model))} (the "
                f"file or folder's name without .gguf, which names its record) is not valid: {reason}; "
                f"rename the file or folder: {VALID}"
            )
    return problems
