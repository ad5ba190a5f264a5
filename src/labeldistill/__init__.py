"""labeldistill: distil LLM labels into small text classifiers, scored against human labels."""

__version__ = "0.1.0"
