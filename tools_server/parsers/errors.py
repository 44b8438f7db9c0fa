"""The one exception every parser raises on input it cannot read."""


class ParseError(ValueError):
    """Command output could not be parsed; the message says what was expected and what was found."""
