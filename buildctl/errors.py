"""The one error type users see; `cli` turns it into a message and an exit code."""

from __future__ import annotations


class BuildctlError(Exception):
    """An error with a message fit for the user: what went wrong, where, and what to do.

    `file` and `line` locate the problem (for GitHub annotations); `hint` says what to do next.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class PartialFailure(BuildctlError):
    """Some units of work failed while others succeeded; the report says which."""

    exit_code = 2
