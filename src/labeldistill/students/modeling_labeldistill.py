"""The mean-pooled `transformer` student as a transformers model that pipeline and Auto classes load.

A saved mean-pooled student's folder holds a copy of this file, named in its config.json's
`auto_map` (transformers' custom-code mechanism), so this file imports only torch and
transformers:

    from transformers import pipeline
    classify = pipeline("text-classification", model=FOLDER, top_k=None, trust_remote_code=True)

Why custom code: the student classifies the L2-normalised mean of all token states (see
`MeanPooledClassifier` in transformer.py), and no `*ForSequenceClassification` class of
transformers computes that; BERT's classifies one token's LayerNorm output, which cannot hold a
normalised mean of them all. The config's own `model_type` makes a load without
`trust_remote_code=True` fail with transformers' message asking for it, instead of building a
BERT classifier with a random head.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F
from transformers import AutoConfig, AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.configuration_utils import SubConfigSpec
from transformers.modeling_outputs import SequenceClassifierOutput


def mean_pooled(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token states over the attention mask, L2-normalised (in float32)."""
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return F.normalize(pooled.float(), dim=-1)


class MeanPooledConfig(PreTrainedConfig):
    """The encoder's own config (`encoder`), the labels (`id2label`) and the head's dropout."""

    model_type = "labeldistill-mean-pooled"
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder: PreTrainedConfig | dict | None = None
    classifier_dropout: float = 0.1


class MeanPooledForSequenceClassification(PreTrainedModel):
    """Encoder -> masked mean of its token states, L2-normalised -> dropout -> linear head."""

    config_class = MeanPooledConfig
    base_model_prefix = "encoder"

    def __init__(self, config: MeanPooledConfig) -> None:
        super().__init__(config)
        self.encoder = AutoModel.from_config(config.encoder)
        self.dropout = torch.nn.Dropout(float(config.classifier_dropout))
        self.classifier = torch.nn.Linear(int(config.encoder.hidden_size), config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **inputs,
    ) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {key: value for key, value in inputs.items() if key in ("token_type_ids", "position_ids")}
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **inputs).last_hidden_state
        logits = self.classifier(self.dropout(mean_pooled(states, attention_mask)))
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)
