"""The one fatal error of a build: a one-line message for the user, and the problems behind it."""
from __future__ import annotations

from .model import Problem


class BuildError(Exception):
    """A fatal problem with the inputs or the theme; the message is one line for the user."""

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(message)
        self.problems = problems  # printed before the message, so the user sees what failed
