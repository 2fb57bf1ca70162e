"""The errors a user can cause: a one-line message for them (never a traceback), and for a
build the problems behind it. Every command's error is a UserError, which the CLI prints."""
from __future__ import annotations

from .model import Problem


class UserError(Exception):
    """A mistake in what the user gave (inputs, config, theme, arguments) or a refusal of their
    machine's; its message is one line for the user."""


class BuildError(UserError):
    """A fatal problem with the inputs or the theme; the message is one line for the user."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = problems  # printed before the message, so the user sees what failed
