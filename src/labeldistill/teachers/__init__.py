"""Teachers: the labelers that produce training labels. `human` copies the gold column; LLM
backends (one module each) label from the codebook behind the same `label(texts)` interface."""

BACKENDS = ("human", "local")
