"""The one exception type for bad input (its message says what is wrong and where), and how entry points report it."""

import sys


class InputError(Exception):
    """Bad user input (file, document, config); the message names the place and the problem."""


def exit_on_input_error(main) -> None:
    """Run an entry point; bad input ends it with one line on stderr (``error: ...``) and exit status 2."""
    try:
        main()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
