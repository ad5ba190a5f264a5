"""Gold and predicted labels of a three-label task, shared by the metric and stage tests:
two failed predictions (None), every label both hit and missed."""

LABELS3 = ["negative", "neutral", "positive"]
GOLD3 = ["negative"] * 5 + ["neutral"] * 8 + ["positive"] * 7
PRED3 = (
    ["negative", "negative", "neutral", "positive", None]
    + ["neutral"] * 5 + ["negative", "positive", None]
    + ["positive"] * 4 + ["neutral", "neutral", "negative"]
)  # fmt: skip
