"""What a labeler's run cost: requests, cache hits, retries, tokens, seconds and dollars, and a
budget cap that stops the run before a request could go over it.

Prompt tokens that the provider's own prompt cache served (usage.prompt_tokens_details.
cached_tokens) cost an entry's `cached_input_per_million`, as fresh input where it has none;
reasoning tokens are completion tokens and cost as output. Requests sent through the Batch API
(`api: batch`) are billed at batch prices: an entry's `batch_..._per_million` where given, else
BATCH_PRICE_FACTOR times its standard prices. A model without a price is counted in tokens and
its dollars stay unknown (None), never 0.

The cap reserves each request's worst case (its estimated prompt tokens, plus 10%, plus
max_tokens) while it is in flight and settles it at the real usage when the answer arrives,
so even many concurrent requests cannot overshoot together. Everything already paid for is in
the response cache: raising the budget and running again pays only for the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from labeldistill.errors import LabelDistillError
from labeldistill.teachers.openai.families import builtin_price

# What a `prices` entry may hold (labelers.<name>.prices.<model>), the first two required. The
# built-in prices are the model table's (teachers/openai/families.py), with the date each was read.
PRICE_KEYS = (
    "input_per_million",
    "output_per_million",
    "cached_input_per_million",
    "batch_input_per_million",
    "batch_output_per_million",
    "batch_cached_input_per_million",
)
# OpenAI bills a request of the Batch API at half its standard price, for every model of the table.
BATCH_PRICE_FACTOR = 0.5
# Room for the token estimate being a little short (approximate encodings, chat framing).
RESERVE_MARGIN = 1.10


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens. Prompt tokens the provider's prompt cache served cost
    `cached_input_per_million` (None: as fresh input, where no cached rate is known); reasoning
    tokens are completion tokens and cost as output."""

    input_per_million: float
    output_per_million: float
    cached_input_per_million: float | None = None

    def cost(self, input_tokens: int, output_tokens: int, prompt_cache_tokens: int = 0) -> float:
        """`input_tokens` counts every prompt token, `prompt_cache_tokens` of them cached."""
        cached = min(prompt_cache_tokens, input_tokens)
        cached_rate = self.cached_input_per_million
        if cached_rate is None:
            cached_rate = self.input_per_million
        return (
            (input_tokens - cached) * self.input_per_million
            + cached * cached_rate
            + output_tokens * self.output_per_million
        ) / 1e6


def find_price(
    model: str, prices: Mapping[str, Mapping[str, float]] | None = None, batch: bool = False
) -> Price | None:
    """The price of `model`: from `prices` an exact entry, else the longest entry its name
    starts with (a dated snapshot such as gpt-4o-mini-2024-07-18 costs what gpt-4o-mini does);
    else the model table's (teachers/openai/families.py); None where neither knows it.

    `batch`: the price of a request sent through the Batch API (see the module's docstring)."""
    prices = prices or {}
    name = model if model in prices else None
    if name is None:
        starts = [key for key in prices if model.startswith(key)]
        name = max(starts, key=len) if starts else None
    entry = prices[name] if name is not None else builtin_price(model)
    if entry is None:
        return None
    name = name or model
    try:
        cached = entry.get("cached_input_per_million")
        price = Price(
            float(entry["input_per_million"]),
            float(entry["output_per_million"]),
            None if cached is None else float(cached),
        )
        if batch:
            half_cached = price.cached_input_per_million
            if half_cached is not None:
                half_cached *= BATCH_PRICE_FACTOR
            batch_cached = entry.get("batch_cached_input_per_million", half_cached)
            price = Price(
                float(entry.get("batch_input_per_million", price.input_per_million * BATCH_PRICE_FACTOR)),
                float(entry.get("batch_output_per_million", price.output_per_million * BATCH_PRICE_FACTOR)),
                None if batch_cached is None else float(batch_cached),
            )
        return price
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise LabelDistillError(
            f"price of {name!r} must map input_per_million and output_per_million to numbers, got {entry!r}"
        ) from error


class BudgetExceeded(LabelDistillError):
    """The next request could take the run over its dollar budget."""


@dataclass
class Usage:
    """Counts for one labeler on one task (one run), serialisable with `to_dict`; every teacher
    keeps one (the counts that do not apply to it stay 0)."""

    labeler: str
    task: str
    model: str | None  # None: the human labeler
    requests_sent: int = 0  # HTTP requests, retries included
    responses: int = 0  # answers received and cached (paid)
    cache_hits: int = 0
    retries: int = 0
    failed_requests: int = 0  # gave up after the last retry
    texts: int = 0
    failed_texts: int = 0
    failed_samples: int = 0
    truncated_texts: int = 0  # cut to max_text_tokens before they were sent
    batches: int = 0  # Batch API batches submitted (api: batch)
    batch_requests: int = 0  # of requests_sent, those submitted in batches
    batch_line_errors: int = 0  # lines a batch answered with an error (then sent to the chat endpoint)
    input_tokens: int = 0  # paid in this run
    output_tokens: int = 0
    prompt_cache_tokens: int = 0  # of input_tokens, those the provider's prompt cache served
    reasoning_tokens: int = 0  # of output_tokens, those the model spent reasoning
    cached_input_tokens: int = 0  # served from the cache: not paid again
    cached_output_tokens: int = 0
    wall_seconds: float = 0.0
    dollars: float | None = 0.0  # None: no price known for the model
    budget_usd: float | None = None
    price: dict | None = None
    batch_price: dict | None = None  # api: batch

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Accountant:
    """Keeps a run's Usage and enforces its budget."""

    usage: Usage
    price: Price | None
    budget_usd: float | None = None
    cache_location: str = "the response cache"
    config_key: str = "budget_usd"
    reserved: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if self.budget_usd is not None and self.price is None:
            raise LabelDistillError(
                f"{self.config_key}: a budget needs the price of {self.usage.model!r}; "
                "give it under the labeler's `prices` (input_per_million, output_per_million)"
            )
        self.usage.budget_usd = self.budget_usd
        self.usage.price = None if self.price is None else asdict(self.price)
        if self.price is None:
            self.usage.dollars = None

    @property
    def spent(self) -> float:
        return self.usage.dollars or 0.0

    def reserve(self, input_tokens: int, max_output_tokens: int) -> float:
        """Book the worst case of one request before it is sent; raises BudgetExceeded instead
        when spent + in flight + this request could exceed the budget."""
        if self.price is None:
            return 0.0
        worst = self.price.cost(math.ceil(input_tokens * RESERVE_MARGIN), max_output_tokens)
        if self.budget_usd is not None and self.spent + self.reserved + worst > self.budget_usd:
            raise BudgetExceeded(
                f"{self.config_key}: stopping before the budget of ${self.budget_usd:.4f} could be "
                f"exceeded (${self.spent:.4f} spent, ${self.reserved:.4f} reserved for requests in "
                f"flight, the next request may cost up to ${worst:.4f}); every answer paid for is kept "
                f"in {self.cache_location}: raise the budget and run again to go on"
            )
        self.reserved += worst
        return worst

    def commit(self, input_tokens: int, max_output_tokens: int) -> float:
        """Book the worst case of a request that is already under way without asking the budget
        (a batch submitted by an earlier run of the same command): it is paid either way."""
        if self.price is None:
            return 0.0
        worst = self.price.cost(math.ceil(input_tokens * RESERVE_MARGIN), max_output_tokens)
        self.reserved += worst
        return worst

    def settle(
        self,
        reservation: float,
        input_tokens: int,
        output_tokens: int,
        prompt_cache_tokens: int = 0,
        reasoning_tokens: int = 0,
    ) -> None:
        """A response arrived: release its reservation and book what it really cost."""
        self.reserved = max(0.0, self.reserved - reservation)
        self.usage.responses += 1
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.prompt_cache_tokens += prompt_cache_tokens
        self.usage.reasoning_tokens += reasoning_tokens
        if self.price is not None:
            cost = self.price.cost(input_tokens, output_tokens, prompt_cache_tokens)
            self.usage.dollars = self.spent + cost

    def release(self, reservation: float) -> None:
        """The request was given up without an answer (nothing billed)."""
        self.reserved = max(0.0, self.reserved - reservation)

    def cache_hit(self, input_tokens: int, output_tokens: int) -> None:
        self.usage.cache_hits += 1
        self.usage.cached_input_tokens += input_tokens
        self.usage.cached_output_tokens += output_tokens


@dataclass(frozen=True)
class CostEstimate:
    """What a configured run would cost at most, before anything is sent."""

    model: str
    requests: int  # texts x samples, less those already in the cache
    cached_requests: int
    truncated_texts: int  # of all texts, cut to max_text_tokens (their cut tokens are counted)
    prompt_tokens: int  # over the requests to send
    max_output_tokens: int  # requests x max_tokens: the worst case
    dollars_max: float | None  # None: no price known for the model
    token_method: str  # how prompt tokens were counted (tiktoken encoding or a rough estimate)
    api: str = "sync"  # sync: the chat endpoint's prices; batch: the Batch API's

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_cost(
    model: str,
    prompt_tokens_per_request: Sequence[int],
    max_tokens: int,
    price: Price | None,
    token_method: str,
    cached_requests: int = 0,
    truncated_texts: int = 0,
    api: str = "sync",
) -> CostEstimate:
    requests = len(prompt_tokens_per_request)
    prompt_tokens = int(sum(prompt_tokens_per_request))
    max_output = requests * int(max_tokens)
    return CostEstimate(
        model=model,
        requests=requests,
        cached_requests=cached_requests,
        truncated_texts=truncated_texts,
        prompt_tokens=prompt_tokens,
        max_output_tokens=max_output,
        dollars_max=None if price is None else price.cost(prompt_tokens, max_output),
        token_method=token_method,
        api=api,
    )
