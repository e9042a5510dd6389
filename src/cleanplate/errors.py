"""Errors a user can act on.

Every error raised for bad input is a :class:`CleanplateError`. Its message is one line that names
the file (or argument), the problem and the fix; the CLI prints it as it is and exits non-zero.
"""

from __future__ import annotations

import os


class CleanplateError(Exception):
    """A problem the user can fix. ``str(err)`` is the one-line message shown to them."""

    exit_code = 2


def _message(subject: object, problem: str, fix: str = "") -> str:
    text = f"{subject}: {problem}"
    if fix:
        text += f" — {fix}"
    return text


class InputError(CleanplateError):
    """An input file or argument cannot be used: ``InputError(path, problem, fix)``."""

    def __init__(self, subject: str | os.PathLike, problem: str, fix: str = ""):
        self.subject, self.problem, self.fix = str(subject), problem, fix
        super().__init__(_message(subject, problem, fix))


class OutputError(CleanplateError):
    """The output cannot be written where the user asked: ``OutputError(path, problem, fix)``."""

    def __init__(self, subject: str | os.PathLike, problem: str, fix: str = ""):
        self.subject, self.problem, self.fix = str(subject), problem, fix
        super().__init__(_message(subject, problem, fix))


class EngineUnavailable(CleanplateError):
    """An engine was asked for whose optional dependency or weights are missing."""


class Interrupted(CleanplateError):
    """The run was stopped by the user; nothing was written."""

    exit_code = 130
