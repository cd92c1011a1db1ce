"""The refusal of an expression: what is wrong, in words, and where."""


class ConditionError(ValueError):
    """An expression that cannot be a condition. `str()` is the whole message in words,
    naming the position (``unknown column `statuz` of task at 8; columns: ...``);
    `position` is that offset (0-based, in characters)."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(message)
