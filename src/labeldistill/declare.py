"""Declared settings: the one place where a setting's name, default and check live.

Every labeler backend and every student kind is a frozen dataclass whose fields are its
settings, each made with `setting(default, check)`. `resolve` checks a config block against
such a class and returns it with the defaults filled in; the workflow calls it for every labeler
and student when it parses the config, so a typo or a bad value stops the run before any job,
with one line that names the key (and the nearest valid one). The stages then read the resolved
blocks and never spell a default themselves.

A check takes a value and returns None when it is fine, else what would be valid ("an integer
>= 1"), which the error line quotes.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import numbers
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labeldistill.errors import LabelDistillError

Check = Callable[[Any], str | None]
REQUIRED = dataclasses.MISSING


# ---- checks ------------------------------------------------------------------------------
def _integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def integer(value: Any) -> str | None:
    return None if _integer(value) else "an integer"


def at_least(low: int) -> Check:
    def check(value: Any) -> str | None:
        return None if _integer(value) and value >= low else f"an integer >= {low}"

    return check


def between(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        return None if _integer(value) and low <= value <= high else f"an integer from {low} to {high}"

    return check


positive_int = at_least(1)
non_negative_int = at_least(0)
# numpy's generators and torch take seeds in [0, 2**32): a larger or negative one fails in a job.
seed_value = between(0, 2**32 - 1)


def positive_number(value: Any) -> str | None:
    return None if _number(value) and value > 0 else "a number > 0"


def non_negative_number(value: Any) -> str | None:
    return None if _number(value) and value >= 0 else "a number >= 0"


def fraction(value: Any) -> str | None:
    return None if _number(value) and 0 <= value < 1 else "a number in [0, 1)"


def share(value: Any) -> str | None:
    return None if _number(value) and 0 <= value <= 1 else "a number in [0, 1]"


def boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def string(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def non_empty_string(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "a non-empty string"


def mapping(value: Any) -> str | None:
    return None if isinstance(value, Mapping) else "a mapping of keys to values"


def one_of(*choices: Any) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"one of {list(choices)}"

    return check


def optional(check: Check) -> Check:
    def check_optional(value: Any) -> str | None:
        if value is None:
            return None
        problem = check(value)
        if problem is None or isinstance(problem, At):
            return problem
        return f"null or {problem}"

    return check_optional


def auto_or(check: Check) -> Check:
    """A check that also accepts "auto" (a value chosen while fitting)."""

    def check_auto(value: Any) -> str | None:
        if value == "auto":
            return None
        problem = check(value)
        return None if problem is None else f'"auto" or {problem}'

    return check_auto


def list_of(check: Check, min_items: int = 0, unique: bool = False) -> Check:
    def check_list(value: Any) -> str | None:
        if not isinstance(value, list | tuple) or len(value) < min_items:
            if min_items > 1:
                return f"a list of at least {min_items} items"
            return "a non-empty list" if min_items else "a list"
        for element in value:
            problem = check(element)
            if problem:
                return f"a list whose items are each {problem} ({element!r} is not)"
        repeated = sorted(item for item, count in Counter(map(repr, value)).items() if count > 1)
        if unique and repeated:
            return f"a list without repeated items ({', '.join(repeated)} repeated)"
        return None

    return check_list


class At(str):
    """A check's answer about one key inside a mapping setting (prices, server): the error line
    names `config key <setting>.<key>` rather than the whole mapping."""

    def __new__(cls, key: str, problem: str):
        self = super().__new__(cls, problem)
        self.key = key
        return self


def keys_of(
    valid: Iterable[str] | None,
    required: Iterable[str] = (),
    value_check: Check | Mapping[str, Check] | None = None,
    valid_named: str | None = None,
) -> Check:
    """A mapping whose keys are among `valid` (None: any), holding `required`, each value
    passing `value_check` (one check for every value, or a check per key). An unknown key's
    line lists the valid ones, or says `valid_named` instead where they are too many for one
    line."""
    valid, required = (None if valid is None else list(valid)), list(required)
    listed = valid_named or ", ".join(valid or ())

    def check_keys(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"a mapping with {listed}" if valid else "a mapping"
        for key in value:
            if valid is not None and key not in valid:
                return At(str(key), f"unknown key{nearest(str(key), valid)} (valid: {listed})")
        for key in required:
            if key not in value:
                return At(key, "required")
        for key, item in value.items():
            check = value_check.get(key) if isinstance(value_check, Mapping) else value_check
            problem = check(item) if check else None
            if isinstance(problem, At):
                return At(f"{key}.{problem.key}", problem)
            if problem:
                return At(str(key), f"{item!r} is not valid (expected {problem})")
        return None

    return check_keys


# ---- declaring -----------------------------------------------------------------------------
def setting(default: Any = REQUIRED, check: Check | None = None, doc: str = "") -> Any:
    """A dataclass field that is a setting: its default (REQUIRED: none), check and meaning."""
    metadata = {"check": check, "doc": doc}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def fields(cls: type) -> dict[str, dataclasses.Field]:
    return {field.name: field for field in dataclasses.fields(cls)}


def defaults(cls: type) -> dict[str, Any]:
    """Every setting of `cls` that has a default, with it."""
    out = {}
    for name, field in fields(cls).items():
        if field.default is not REQUIRED:
            out[name] = field.default
        elif field.default_factory is not REQUIRED:
            out[name] = field.default_factory()
    return out


def checks(cls: type) -> dict[str, Check]:
    return {
        name: field.metadata["check"] for name, field in fields(cls).items() if field.metadata.get("check")
    }


def nearest(key: str, valid: Iterable[str]) -> str:
    """'; did you mean X?' for the closest valid key, or '' when none is close."""
    close = difflib.get_close_matches(str(key), list(valid), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key_error(config_key: str, key: str, valid: Iterable[str], what: str) -> LabelDistillError:
    valid = sorted(valid)
    return LabelDistillError(
        f"config key {config_key}.{key}: unknown setting for {what}{nearest(key, valid)} "
        f"(valid: {', '.join(valid)})"
    )


def resolve(cls: type, given: Mapping | None, config_key: str, what: str, ignore: Iterable[str] = ()) -> dict:
    """`given` checked against the settings of `cls`, with its defaults filled in.

    Keys in `ignore` are left out (settings that another declaration checks). An unknown key,
    a missing required one or a value its check refuses raises one LabelDistillError line
    naming `config_key.<key>`; a class method `cross_check(values)` may add problems between
    settings as (key, message) pairs.
    """
    ignored = set(ignore)
    given = {key: value for key, value in dict(given or {}).items() if key not in ignored}
    declared = fields(cls)
    for key in given:
        if key not in declared:
            raise unknown_key_error(config_key, key, set(declared) - ignored, what)
    resolved = {**defaults(cls), **given}
    for key in declared:
        if key in ignored:
            continue
        if key not in resolved:
            raise LabelDistillError(f"config key {config_key}.{key}: required for {what}")
        check = declared[key].metadata.get("check")
        problem = check(resolved[key]) if check else None
        if isinstance(problem, At):
            raise LabelDistillError(f"config key {config_key}.{key}.{problem.key}: {problem}")
        if problem:
            raise LabelDistillError(
                f"config key {config_key}.{key}: {resolved[key]!r} is not valid for {what} "
                f"(expected {problem})"
            )
    cross_check = getattr(cls, "cross_check", None)
    for key, message in cross_check(resolved) if cross_check else ():
        raise LabelDistillError(f"config key {config_key}.{key}: {message}")
    return {key: value for key, value in resolved.items() if key not in ignored}


def parse(cls: type, given: Mapping | None, config_key: str, what: str):
    """An instance of `cls` from a config block (see `resolve`)."""
    return cls(**resolve(cls, given, config_key, what))
