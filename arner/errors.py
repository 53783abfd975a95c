"""The one exception type for bad input: its message says what is wrong and where."""


class InputError(Exception):
    """Bad user input (file, document, config); the message names the place and the problem."""
