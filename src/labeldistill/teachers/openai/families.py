"""Model families as data: which parameters a model behind an OpenAI-compatible endpoint takes,
whether it gives logprobs, how it reasons, and what it costs.

`MODELS` is read top down and the first pattern that matches the model's name wins (a glob on
the lower-cased name after any `provider/` prefix, so `openai/gpt-5-mini` on a router is
gpt-5-mini); the last row, `*`, is the chat family that every model had before (gpt-4.1, gpt-4o,
any local server): `max_tokens`, a temperature, logprobs, no reasoning. A labeler describes a
model the table gets wrong under `family:` (teachers/settings.py), key by key over its row.

Why the families differ (OpenAI's API reference and reasoning guide, 2025-12):
- the GPT-5 family and the o-series refuse `max_tokens` (HTTP 400, "Use 'max_completion_tokens'
  instead") and spend completion tokens on reasoning before the answer, so their answer budget
  must leave room for it (`answer_tokens`);
- gpt-5, gpt-5-mini and gpt-5-nano take only the default temperature (1) and give no logprobs;
  their efforts are minimal, low, medium and high (medium when none is sent);
- gpt-5.1 and later take `reasoning_effort: none`, at which they do not reason and take a
  temperature and logprobs as a chat model does (`plain_effort`); gpt-5.2 and later refuse
  `minimal` and add `xhigh`.

Prices are US dollars per million tokens, standard tier, as OpenAI's pricing page
(developers.openai.com/api/docs/pricing) lists them; no live page could be read here, so they
come from public copies of it, and each row's `read` is the date its source checked the page:
the GPT-5 rows from agent-top's price file (kannandreams/agent-top, prices.toml, checked
2026-09-05; a copy of the page itself agrees for gpt-5, -mini and -nano); the GPT-4.1 and
GPT-4o rows from undated copies of the page from 2025, which agree with each other (GPT4_READ:
the day they were read for this table). `cached_input` is the rate of prompt tokens the
provider's own prompt cache served (usage.prompt_tokens_details.cached_tokens). The Batch API
bills half of every rate, the cached one too (BATCH_PRICE_FACTOR in teachers/accounting.py). A
row without a price is costed in tokens only. Prices change: `labelers.<name>.prices` overrides
them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from fnmatch import fnmatchcase

# The request fields a model's answer budget can go under.
TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")
# Every reasoning_effort value any family takes, lowest first.
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


@dataclass(frozen=True)
class Family:
    """What a model takes and gives; see the module's docstring."""

    name: str
    token_limit: str = "max_tokens"  # the request field of the answer budget
    temperature: bool = True  # takes a temperature other than its default (1)
    logprobs: bool = True  # gives token logprobs
    reasoning_efforts: tuple[str, ...] = ()  # lowest first; (): sends no reasoning_effort
    plain_effort: str | None = None  # the effort at which it reasons not at all (and samples)
    answer_tokens: int | None = None  # the answer budget where max_tokens is unset and it reasons

    def lowest_effort(self) -> str | None:
        return self.reasoning_efforts[0] if self.reasoning_efforts else None

    def reasons(self, effort: str | None) -> bool:
        return bool(self.reasoning_efforts) and effort != self.plain_effort

    def takes_temperature(self, effort: str | None) -> bool:
        return self.temperature or (self.plain_effort is not None and effort == self.plain_effort)

    def gives_logprobs(self, effort: str | None) -> bool:
        return self.logprobs or (self.plain_effort is not None and effort == self.plain_effort)


# A family's keys that `labelers.<name>.family` may set (all but its name).
FAMILY_KEYS = tuple(field.name for field in fields(Family) if field.name != "name")

CHAT = Family("chat")
# Enough for the thinking of a one-label answer at the lowest effort, and the label after it.
REASONING_ANSWER_TOKENS = 2000
GPT_5 = Family(
    "gpt-5",
    token_limit="max_completion_tokens",
    temperature=False,
    logprobs=False,
    reasoning_efforts=("minimal", "low", "medium", "high"),
    answer_tokens=REASONING_ANSWER_TOKENS,
)
GPT_5_PRO = replace(GPT_5, name="gpt-5-pro", reasoning_efforts=("high",))
GPT_5_1 = replace(
    GPT_5, name="gpt-5.1", reasoning_efforts=("none", "low", "medium", "high"), plain_effort="none"
)
GPT_5_2 = replace(GPT_5_1, name="gpt-5.2", reasoning_efforts=("none", "low", "medium", "high", "xhigh"))
O_SERIES = replace(GPT_5, name="o-series", reasoning_efforts=("low", "medium", "high"))


@dataclass(frozen=True)
class ModelRow:
    pattern: str
    family: Family
    input: float | None = None  # dollars per million prompt tokens
    cached_input: float | None = None  # those the provider's prompt cache served; None: input's
    output: float | None = None  # completion tokens, reasoning tokens included
    read: str | None = None  # the date the price was read

    def price(self) -> dict[str, float] | None:
        """As a `prices` entry of the labeler settings (teachers/accounting.py reads it)."""
        if self.input is None or self.output is None:
            return None
        entry = {"input_per_million": self.input, "output_per_million": self.output}
        if self.cached_input is not None:
            entry["cached_input_per_million"] = self.cached_input
        return entry


GPT5_READ = "2026-09-05"
GPT4_READ = "2026-12-07"
MODELS: tuple[ModelRow, ...] = (
    ModelRow("gpt-5-pro*", GPT_5_PRO, 15.00, None, 120.00, GPT5_READ),
    ModelRow("gpt-5.2-pro*", replace(GPT_5_2, name="gpt-5.2-pro"), 21.00, None, 168.00, GPT5_READ),
    ModelRow("gpt-5.2*", GPT_5_2, 1.75, 0.175, 14.00, GPT5_READ),
    # Later 5.x releases take what 5.2 takes; their prices differ by release: give them.
    ModelRow("gpt-5.[3-9]*", GPT_5_2),
    ModelRow("gpt-5.1*", GPT_5_1, 1.25, 0.125, 10.00, GPT5_READ),
    ModelRow("gpt-5-mini*", GPT_5, 0.25, 0.025, 2.00, GPT5_READ),
    ModelRow("gpt-5-nano*", GPT_5, 0.05, 0.005, 0.40, GPT5_READ),
    ModelRow("gpt-5*", GPT_5, 1.25, 0.125, 10.00, GPT5_READ),
    ModelRow("o[1-9]*", O_SERIES),
    ModelRow("gpt-4.1-mini*", CHAT, 0.40, 0.10, 1.60, GPT4_READ),
    ModelRow("gpt-4.1-nano*", CHAT, 0.10, 0.025, 0.40, GPT4_READ),
    ModelRow("gpt-4.1*", CHAT, 2.00, 0.50, 8.00, GPT4_READ),
    ModelRow("gpt-4o-mini*", CHAT, 0.15, 0.075, 0.60, GPT4_READ),
    ModelRow("gpt-4o*", CHAT, 2.50, 1.25, 10.00, GPT4_READ),
    ModelRow("gpt-4-turbo*", CHAT, 10.00, None, 30.00, GPT4_READ),
    ModelRow("gpt-4*", CHAT, 30.00, None, 60.00, GPT4_READ),
    ModelRow("gpt-3.5-turbo*", CHAT, 0.50, None, 1.50, GPT4_READ),
    ModelRow("*", CHAT),
)


def model_row(model: str) -> ModelRow:
    """The first row of MODELS whose pattern matches `model` (the last matches every name)."""
    return _row(model.rsplit("/", 1)[-1].casefold())


@functools.lru_cache(maxsize=256)
def _row(name: str) -> ModelRow:
    return next(row for row in MODELS if fnmatchcase(name, row.pattern))


def family_of(model: str, override: Mapping | None = None) -> Family:
    """The family of `model`, with a labeler's `family:` keys over its row's."""
    family = model_row(model).family
    if not override:
        return family
    given = {key: tuple(value) if key == "reasoning_efforts" else value for key, value in override.items()}
    return replace(family, name=f"{family.name} (overridden)", **given)


def builtin_price(model: str) -> dict[str, float] | None:
    """The price of `model` in MODELS, as a `prices` entry; None where none is known."""
    return model_row(model).price()
