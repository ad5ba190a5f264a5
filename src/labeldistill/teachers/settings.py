"""The settings of every labeler backend (one `labelers.<name>` block of the config), declared once.

A labeler's block is checked whole by `check_labeler` when the workflow parses the config, and
the jobs get it back with every default filled in (plain values: rule params decide reruns). A
job's stage turns it into its backend's settings object once, with `parse_labeler`, and hands
the object on: nothing after the job's boundary parses or re-casts a setting. Light on purpose
(no torch, no HTTP client): the parse imports it.
"""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from labeldistill.declare import (
    at_least,
    between,
    boolean,
    fields,
    integer,
    keys_of,
    list_of,
    non_empty_string,
    non_negative_int,
    non_negative_number,
    one_of,
    optional,
    positive_int,
    positive_number,
    resolve,
    seed_value,
    setting,
    share,
    string,
    unknown_key_error,
)
from labeldistill.errors import LabelDistillError
from labeldistill.teachers.accounting import PRICE_KEYS
from labeldistill.teachers.chat.answers import MODES as OPENAI_MODES
from labeldistill.teachers.openai.families import EFFORTS, FAMILY_KEYS, TOKEN_LIMITS, Family, family_of
from labeldistill.teachers.openai.transport import OPENAI_BASE_URL, TRANSPORTS
from labeldistill.teachers.vllm_engine_keys import ENGINE_KEYS, VLLM_VERSION

VLLM_MODES = ("choice", "logprobs", "text")
# Enough for a label of a few words; logprobs mode reads a single token.
DEFAULT_MAX_TOKENS = {"text": 20, "json_schema": 50, "json_object": 50, "choice": 20, "logprobs": 1}


def example_id(value: Any) -> str | None:
    return (
        None if isinstance(value, str | int) and not isinstance(value, bool) else "an id (string or integer)"
    )


def http_url(value: Any) -> str | None:
    ok = isinstance(value, str) and value.startswith(("http://", "https://"))
    return None if ok else "an http:// or https:// URL such as http://127.0.0.1:8000/v1"


def train_size(value: Any) -> str | None:
    ok = value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value >= 2)
    return None if ok else "a number of texts (at least 2) or all"


engine_block = keys_of(
    ENGINE_KEYS, valid_named=f"the fields of vLLM {VLLM_VERSION}'s EngineArgs, and chat_template"
)
server_block = keys_of(("command", "startup_timeout"), required=("command",))
price_table = keys_of(
    None, value_check=keys_of(PRICE_KEYS, required=PRICE_KEYS[:2], value_check=non_negative_number)
)
FAMILY_CHECKS = {
    "token_limit": one_of(*TOKEN_LIMITS),
    "temperature": boolean,
    "logprobs": boolean,
    "reasoning_efforts": list_of(one_of(*EFFORTS), unique=True),
    "plain_effort": optional(one_of(*EFFORTS)),
    "answer_tokens": optional(positive_int),
}
# A labeler's `family:` keys, each checked as the model table's field of that name.
family_block = keys_of(FAMILY_KEYS, value_check=FAMILY_CHECKS)


@dataclass(frozen=True)
class LabelerSettings:
    """What every LLM labeler has."""

    model: str = setting(check=non_empty_string, doc="a name the backend knows, a file or a folder")
    backend: str = setting(check=one_of("local", "openai", "vllm"))
    shots: int = setting(16, non_negative_int, "few-shot examples drawn from the pool, stratified by label")
    shots_seed: int = setting(0, seed_value, "seed of the few-shot draw and of the calibration sample")
    examples: list | None = setting(None, optional(list_of(example_id, 1)), "fixed pool ids as the examples")
    threads: int = setting(1, positive_int, "CPU threads of the labeling job")
    max_failed_share: float = setting(0.2, share, "share of a part's texts that may fail")
    max_text_tokens: int = setting(256, at_least(8), "longer texts are truncated to this many tokens")
    # The study's design, not the labeling: changing them reruns no labeling job.
    shots_seeds: list | None = setting(
        None,
        optional(list_of(seed_value, 1, unique=True)),
        "several few-shot draws (prompts), each labelling every part",
    )
    train_sizes: list | None = setting(
        None, optional(list_of(train_size, 1)), "training sizes of this labeler's students"
    )


# Settings that shape the study around a labeler; its labeling jobs never see them.
STUDY_SETTINGS = ("shots_seeds", "train_sizes")


@dataclass(frozen=True)
class LocalSettings(LabelerSettings):
    backend: str = setting("local", one_of("local"))
    threads: int = setting(2, positive_int, "CPU threads of the labeling job")
    # Without calibration the small model gives one label to nearly every text; with 32 texts
    # the share of labels its decision rule gives wandered by about +-0.08 between prompts.
    calibration_texts: int = setting(128, non_negative_int, "pool texts the prompt's bias is measured on")
    calibration_prior: str = setting("examples", one_of("examples", "em", "uniform"), "prior kept")


@dataclass(frozen=True)
class SamplingSettings(LabelerSettings):
    """How answers are asked for and read (the backends that generate text)."""

    samples: int = setting(1, positive_int, "answers per text; label = mode, consistency = its share")
    temperature: float = setting(0.0, non_negative_number, "sampling temperature; 0: the most likely answer")
    seed: int | None = setting(
        None, optional(integer), "sent to the server; sample i of n > 1 gets (seed or 0) + i"
    )
    max_tokens: int | None = setting(None, optional(positive_int), "null: enough for the mode")
    top_logprobs: int = setting(20, between(1, 20), "logprobs mode: servers give at most 20")

    @property
    def answer_tokens(self) -> int:
        return self.max_tokens if self.max_tokens is not None else DEFAULT_MAX_TOKENS[self.mode]


@dataclass(frozen=True)
class VllmSettings(SamplingSettings):
    backend: str = setting("vllm", one_of("vllm"))
    mode: str = setting("choice", one_of(*VLLM_MODES), "how the answer is restricted and read")
    engine: dict = setting({}, engine_block, "extra vllm.LLM arguments (vLLM's EngineArgs)")


def public_url(url: str | None) -> str | None:
    """`url` without any user:password part, query or fragment: fit for logs and provenance."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# A user:password@ part of a URL: before the first / ? or # after the scheme.
USERINFO = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^/?#]*@")
VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def secret_problem(key: str, block: Mapping) -> str | None:
    """Where an openai labeler's block could hold a secret, one line that never repeats it.

    Every setting of a labeler becomes a param of its jobs, which Snakemake records in
    .snakemake/metadata/ (and the URL goes into logs, cache keys and provenance): the key is
    only ever read at run time from the variable named by api_key_env.
    """
    url, variable = block.get("base_url"), block.get("api_key_env", "OPENAI_API_KEY")
    where = f"the environment variable named by {key}.api_key_env" + (f" ({variable})" if variable else "")
    if isinstance(variable, str) and variable and not VARIABLE.fullmatch(variable):  # "": no key
        return (
            f"config key {key}.api_key_env: not the name of an environment variable (letters, digits, _); "
            "give the variable's name (e.g. OPENAI_API_KEY), never the key itself"
        )
    server = block.get("server")
    command = server.get("command") if isinstance(server, Mapping) else None
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(part) for part in command or ()]
    except (ValueError, TypeError):
        argv = []  # not a command line: the server check names the problem
    if any(part == "--api-key" or part.startswith("--api-key=") for part in argv):
        return (
            f"config key {key}.server.command: a key on the command line is refused (it would be written "
            "into Snakemake's record of every job); the server reads it from its environment (vllm serve: "
            "VLLM_API_KEY, llama-server: LLAMA_API_KEY): export it there and name that variable in "
            f"{key}.api_key_env"
        )
    if not isinstance(url, str):
        return None
    plain = public_url(url) if http_url(url) is None else "the server's /v1 URL"
    if USERINFO.match(url):
        return (
            f"config key {key}.base_url: a user:password@ part is refused (it would be written into "
            "Snakemake's record of every job); "
            f"give {plain} and put the key in {where}"
        )
    if "?" in url or "#" in url:
        return (
            f"config key {key}.base_url: a ?query or #fragment is refused (it would be written into "
            f"Snakemake's record of every job, and the request paths go after it); give {plain}, with any "
            f"key in {where}"
        )
    return None


@dataclass(frozen=True)
class OpenAISettings(SamplingSettings):
    backend: str = setting("openai", one_of("openai"))
    mode: str = setting("text", one_of(*OPENAI_MODES), "how the answer is restricted and read")
    base_url: str | None = setting(None, optional(http_url), "the server's /v1 URL; null: OpenAI's")
    api_key_env: str | None = setting("OPENAI_API_KEY", optional(string), "variable with the key")
    transport: str = setting("aiohttp", one_of(*TRANSPORTS), "HTTP client")
    concurrency: int = setting(8, positive_int, "requests in flight")
    requests_per_minute: float | None = setting(None, optional(positive_number), "client-side rate limit")
    tokens_per_minute: float | None = setting(None, optional(positive_number), "client-side rate limit")
    timeout: float = setting(60.0, positive_number, "seconds per request")
    max_retries: int = setting(
        6, non_negative_int, "per request, on 429, 5xx, timeouts and dropped connections"
    )
    backoff_base: float = setting(1.0, positive_number, "seconds; the n-th retry waits up to base * 2**n")
    backoff_cap: float = setting(60.0, positive_number, "seconds; no retry waits longer")
    budget_usd: float | None = setting(None, optional(non_negative_number), "stop before passing it")
    prices: dict = setting(
        {},
        price_table,
        "model -> {input_per_million, output_per_million, optional cached_input_... and batch_... of each}",
    )
    # Which parameters the model takes: its row of the model table (teachers/openai/families.py).
    temperature: float | None = setting(
        None, optional(non_negative_number), "null: 0 where the model takes one, else its own (1)"
    )
    reasoning_effort: str | None = setting(
        None, optional(one_of(*EFFORTS)), "reasoning models: null is the lowest the model takes"
    )
    max_tokens: int | None = setting(
        None, optional(positive_int), "null: enough for the mode; for a reasoning model, room to think (2000)"
    )
    family: dict = setting(
        {}, family_block, "what the model takes, key by key over its row of the model table"
    )
    progress: bool = setting(True, boolean, "a progress bar over texts (log lines off a terminal)")
    server: dict | None = setting(None, optional(server_block), "a server the job starts and stops")
    # The Batch API (teachers/openai/batch.py): OpenAI's limits and completion window of 24 h.
    api: str = setting("sync", one_of("sync", "batch"), "sync: the chat endpoint; batch: the Batch API")
    batch_max_requests: int = setting(50_000, positive_int, "requests per batch (OpenAI: 50,000 at most)")
    batch_max_bytes: int = setting(200_000_000, positive_int, "bytes per batch input file (OpenAI: 200 MB)")
    # A batch that is not done after 24 h expires; 25 h lets a job see that and submit the rest.
    batch_deadline_hours: float = setting(25.0, positive_number, "then the job stops; a rerun resumes")
    batch_poll_seconds: float = setting(10.0, positive_number, "first wait between status checks")
    batch_poll_cap: float = setting(600.0, positive_number, "waits double up to this many seconds")

    @staticmethod
    def cross_check(values: dict) -> list[tuple[str, str]]:
        problems = family_problems(values)
        if values["server"] and not values["base_url"]:
            problems.append(
                (
                    "base_url",
                    "required with server (the URL the started server answers at, e.g. http://127.0.0.1:8011/v1)",
                )
            )
        if values["server"] and values["api"] == "batch":
            problems.append(("api", "must be sync with server (a server the job starts has no Batch API)"))
        return problems

    # Cached on the instance (frozen fields never change): every request body reads them.
    @functools.cached_property
    def model_family(self) -> Family:
        return family_of(self.model, self.family)

    @functools.cached_property
    def effort(self) -> str | None:
        """The reasoning_effort sent: the labeler's, else the lowest the family takes; None: none sent."""
        return self.reasoning_effort or self.model_family.lowest_effort()

    @property
    def sent_temperature(self) -> float | None:
        """The temperature sent: the labeler's, else 0 where the model takes one; None: none sent."""
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.model_family.takes_temperature(self.effort) else None

    @property
    def answer_tokens(self) -> int:
        """The answer budget sent: max_tokens, else what the mode needs, or for a model that
        reasons first its family's budget (reasoning tokens count against it)."""
        if self.max_tokens is not None:
            return self.max_tokens
        family = self.model_family
        if family.answer_tokens is not None and family.reasons(self.effort):
            return family.answer_tokens
        return DEFAULT_MAX_TOKENS[self.mode]

    def answer_settings(self) -> dict:
        """The settings that change answers, as they are sent (part of provenance; never a key
        or a URL): temperature and reasoning_effort None where the request has none."""
        return {
            "mode": self.mode,
            "samples": self.samples,
            "temperature": self.sent_temperature,
            "max_tokens": self.answer_tokens,
            "token_limit": self.model_family.token_limit,
            "reasoning_effort": self.effort,
            "family": self.model_family.name,
            "top_logprobs": self.top_logprobs if self.mode == "logprobs" else None,
            "seed": self.seed,
        }

    def public_base_url(self) -> str | None:
        """The endpoint without any user:password part, fit for logs and provenance."""
        return public_url(self.base_url)

    def public_endpoint(self) -> str:
        """`public_base_url`, or OpenAI's own endpoint where no base_url is set."""
        return self.public_base_url() or OPENAI_BASE_URL

    def to_dict(self) -> dict:
        return asdict(self)


def family_problems(values: Mapping) -> list[tuple[str, str]]:
    """What an openai labeler asks of its model that the model's family cannot give, as (key,
    one line with the fix): refused when the config is parsed, never dropped or changed."""
    model, family = values["model"], family_of(values["model"], values["family"])
    effort = values["reasoning_effort"] or family.lowest_effort()
    named = f"{model} (family {family.name})"
    if values["reasoning_effort"] is not None and not family.reasoning_efforts:
        return [
            (
                "reasoning_effort",
                f"{named} takes no reasoning_effort; remove it, or give the efforts the model takes "
                "under family: {reasoning_efforts: [...]}",
            )
        ]
    if effort is not None and effort not in family.reasoning_efforts:
        return [
            (
                "reasoning_effort",
                f"{effort!r} is not an effort {named} takes (valid: {', '.join(family.reasoning_efforts)})",
            )
        ]
    problems = []
    at = f" at reasoning_effort {effort}" if effort else ""
    plain = (
        f", or set reasoning_effort: {family.plain_effort} (no reasoning)"
        if family.plain_effort and effort != family.plain_effort
        else ""
    )
    temperature = values["temperature"]
    if temperature is not None and temperature != 1 and not family.takes_temperature(effort):
        samples = values["samples"]
        drawn = f", at which its {samples} samples are drawn" if samples > 1 else ""
        problems.append(
            (
                "temperature",
                f"{named} takes only its default temperature (1){at}{drawn}; "
                f"remove temperature (or set it to 1){plain}",
            )
        )
    if values["mode"] == "logprobs" and not family.gives_logprobs(effort):
        problems.append(
            (
                "mode",
                f"{named} gives no logprobs{at}; use mode: json_schema (or text), "
                f"with samples: 5 for a confidence{plain}",
            )
        )
    return problems


# How an ensemble turns its members' labels into one (labeldistill.teachers.ensemble).
ENSEMBLE_METHODS = ("majority", "dawid_skene")


def member_name(value: Any) -> str | None:
    ok = isinstance(value, str) and bool(value.strip())
    return None if ok else "a labeler's name (gemma) or one prompt draw of it (gemma~shots1)"


@dataclass(frozen=True)
class EnsembleSettings:
    """A labeler that combines other labelers' labels of the same texts (labeldistill.teachers.ensemble).

    It sends no request and has no model or prompt: its labels, probabilities and consistency
    come from its members' labels, and its students, few-shot condition and agreement follow as
    for any LLM labeler. Which members exist is checked with the study's design (design.py).
    """

    members: list = setting(
        check=list_of(member_name, 1),
        doc="labelers (a labeler with shots_seeds: each of its draws) or single draws (gemma~shots1)",
    )
    backend: str = setting("ensemble", one_of("ensemble"))
    method: str = setting(
        "majority",
        one_of(*ENSEMBLE_METHODS),
        "majority: the most votes; dawid_skene: Dawid-Skene's posterior",
    )
    seed: int = setting(0, seed_value, "majority: seeds the draw that breaks a tie")
    iterations: int = setting(100, positive_int, "dawid_skene: most EM iterations (crowd-kit's n_iter)")
    tolerance: float = setting(1e-5, positive_number, "dawid_skene: EM stops when the loss moves less")
    threads: int = setting(1, positive_int, "CPU threads of the combining job")
    max_failed_share: float = setting(0.2, share, "share of a part's texts no member may label")
    train_sizes: list | None = setting(
        None, optional(list_of(train_size, 1)), "training sizes of this labeler's students"
    )


# What `parse_labeler` gives: one labeler's settings, by its backend.
LabelerBlock = LocalSettings | OpenAISettings | VllmSettings | EnsembleSettings

SETTINGS_BY_BACKEND: dict[str, type] = {
    "local": LocalSettings,
    "openai": OpenAISettings,
    "vllm": VllmSettings,
    "ensemble": EnsembleSettings,
}


def _what(backend: str) -> str:
    """'a local labeler', 'an openai labeler': how error lines name a backend's labelers."""
    return f"{'an' if backend[0] in 'aeiou' else 'a'} {backend} labeler"


def check_labeler(name: str, block: Mapping) -> dict:
    """A `labelers.<name>` block checked whole, with every default filled in: the block as the
    parsed config keeps it (plain values, which rule params compare)."""
    declared, key, what = _declared(name, block)
    return resolve(declared, block, key, what)


def parse_labeler(name: str, block: Mapping) -> LabelerBlock:
    """A `labelers.<name>` block as its backend's settings object, checked whole: what a job
    makes of its labeler's block, once, at its boundary. A null takes the default, as the jobs
    have always read a block (`api_key_env: null` is OPENAI_API_KEY)."""
    declared, key, what = _declared(name, block)
    given = {setting_key: value for setting_key, value in block.items() if value is not None}
    return declared(**resolve(declared, given, key, what))


def _declared(name: str, block: Mapping) -> tuple[type, str, str]:
    """The settings class of a labeler's block (by its backend), its config key and how error
    lines name it; a key that no setting of the backend has is an error naming the key."""
    key = f"labelers.{name}"
    if not isinstance(block, Mapping):
        raise LabelDistillError(f"config key {key}: expected a mapping of settings (backend, model, ...)")
    backend = block.get("backend")
    if backend not in SETTINGS_BY_BACKEND:
        raise LabelDistillError(
            f"config key {key}.backend: {backend!r} is not valid "
            f"(expected one of {list(SETTINGS_BY_BACKEND)})"
        )
    problem = secret_problem(key, block) if backend == "openai" else None
    if problem:
        raise LabelDistillError(problem)
    declared = SETTINGS_BY_BACKEND[backend]
    what = _what(backend)
    for setting_key in block:
        if setting_key not in fields(declared):
            other = [b for b, cls in SETTINGS_BY_BACKEND.items() if setting_key in fields(cls)]
            if other:
                raise LabelDistillError(
                    f"config key {key}.{setting_key}: a setting of the {' and '.join(other)} backend, "
                    f"not of {backend}"
                )
            raise unknown_key_error(key, setting_key, fields(declared), what)
    return declared, key, what
