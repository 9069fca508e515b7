"""What a build run shows while it works: in GitHub Actions, build logs act as no command."""

from __future__ import annotations

import io

from buildctl.build.progress import Progress
from tests.support.gha import runner_commands


def test_build_logs_in_actions_act_as_no_command() -> None:
    stream = io.StringIO()
    progress = Progress(verbose=False, actions=True, stream=stream)
    for line in ("::error::from a RUN step", "   ::add-mask::x", "text ##[warning]legacy", "::endgroup::"):
        progress.log("b", line)
    progress.done("b", "failed: ##[error]x\n::error::y")
    obeyed = runner_commands(stream.getvalue())
    assert [c.split("::")[1].split(" ")[0] for c in obeyed] == [
        "group",
        "stop-commands",
        obeyed[2][2:-2],
        "endgroup",
    ]
    assert "::error::from a RUN step" in stream.getvalue()  # shown, just not obeyed
