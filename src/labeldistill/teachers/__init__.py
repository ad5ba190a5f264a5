"""Teachers: the labelers that produce training labels, one module per backend behind the
`Teacher` interface of `base` (`human` copies the gold column; `local`, `openai` and
`vllm` label from the codebook). `factory.make_teacher` makes the one a labeler's
settings ask for. Kept empty: everything here is in the code fingerprint of every stage that
imports any teacher module (see factory.py)."""
