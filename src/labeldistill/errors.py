"""The one exception type for problems a user can fix (bad config, bad data)."""


class LabelDistillError(Exception):
    """A user-facing error: the message names the file, row or config key and what would be valid."""
