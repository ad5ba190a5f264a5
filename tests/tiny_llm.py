"""A tiny causal LM to stand in for a registry model where only the plumbing is under test.

A randomly initialised one-layer Gemma 3 (hidden size 16) with the real Gemma tokenizer: it
converts and loads in about a second, where the real model takes 60-140 s to convert.
"""

from __future__ import annotations

from pathlib import Path


def build_tiny_llm(folder: Path, like: Path, seed: int = 0) -> Path:
    """Write the tiny model into `folder`, with the tokenizer and architecture of the converted
    model folder `like`; `seed` sets its weights."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    config = AutoConfig.from_pretrained(like)
    config.update(
        {
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 1,
            "num_key_value_heads": 1,
            "head_dim": 16,
            "query_pre_attn_scalar": 16,
            "layer_types": ["full_attention"],
        }
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(like).save_pretrained(folder)
    return Path(folder)
