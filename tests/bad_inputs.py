"""The machinery of the bad-input suite (`tests/test_bad_inputs*.py`): tables of cases and the one way a case is
checked. A case is a call that must raise the expected exception type with a message naming the bad value and what is
accepted (the package's own exception, not a torch or internal error), within 60 s."""

import signal

import pytest


class CaseTable(dict):
    """Maps a case id to `(callable, exception type, fragments the message must contain)`."""

    def case(self, name, exception, *fragments):
        """Registers the decorated function as a case."""

        def register(function):
            assert name not in self, name
            self[name] = (function, exception, fragments)
            return function

        return register

    def cases(self, prefix, items, exception, build):
        """Registers one case per `(id, argument, fragments)` item: `build(argument)` is the call."""
        for name, argument, fragments in items:
            self.case(f"{prefix}/{name}", exception, *fragments)(lambda argument=argument: build(argument))


class Hang(Exception):
    pass


class no_hang:
    """Turns a case running over 60 s into a failure instead of a stuck test run."""

    def __enter__(self):
        def alarm(signum, frame):
            raise Hang("the case ran for over 60 s")

        self.previous = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(60)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.previous)
        return False


def assert_names(error, fragments):
    """`error`'s message (with the messages of its causes) contains every fragment, case-insensitively."""
    message = str(error)
    cause = error.__cause__
    while cause is not None:  # wrapped errors (e.g. the strict dataclass ones) name the value in their cause
        message += f" {cause}"
        cause = cause.__cause__
    missing = [fragment for fragment in fragments if fragment.lower() not in message.lower()]
    assert not missing, f"{type(error).__name__}: {message!r} does not name {missing}"
    assert "Traceback" not in message


def check_case(function, exception, fragments, *args):
    """Runs one case: `function(*args)` raises `exception` (not a hang, not a torch/internal error) naming `fragments`."""
    with no_hang(), pytest.raises(exception) as info:
        function(*args)
    assert not isinstance(info.value, Hang), info.value
    own = type(info.value).__module__.startswith("hyperset_hf")  # e.g. input_checks.WeightsMismatchError
    assert not isinstance(info.value, (RuntimeError, IndexError, KeyError, AttributeError)) or isinstance(
        info.value, NotImplementedError
    ) or own, f"a torch/internal error, not a clear one: {info.value!r}"
    assert_names(info.value, fragments)
