"""The one error type users see; `cli` turns it into a message and an exit code."""

from __future__ import annotations


def printable(text: str) -> str:
    """Text from the repository (file names, keys, remote messages) as one inert line: control
    characters are shown escaped, never obeyed, and nothing in it can act as a GitHub Actions
    workflow command. The runner reads `::cmd::` at the start of a line (leading blanks
    trimmed) and the legacy `##[cmd]` anywhere in a line, on stdout and stderr alike."""
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text).replace("##[", "##\\x5b")
    if out.lstrip().startswith("::"):
        head = len(out) - len(out.lstrip())
        out = out[:head] + "\\x3a" + out[head + 1 :]
    return out


def printable_lines(text: str) -> str:
    """`printable` for each line: a message may span lines, and each stays inert."""
    return "\n".join(printable(line) for line in text.split("\n"))


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
        text = printable_lines(printable(where) + self.message)
        if self.hint:
            text += f"\n  hint: {printable_lines(self.hint)}"
        return text


class PartialFailure(BuildctlError):
    """Some units of work failed while others succeeded; the report says which. Its own exit
    code, so that a CI step tells it from an error (1) and a usage error (click's 2)."""

    exit_code = 4


class TransientError(BuildctlError):
    """A failure that may pass when tried again (a registry restarting, a 5xx, a remote that moved
    on); `retry.retrying` tries again, anything else fails at once."""
