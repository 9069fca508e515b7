"""How each service is built, as the build steps need it: its Dockerfile, context and target,
its own build arguments, those that reach its Dockerfile's cook stage, and whether it has one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from buildctl.build.dockerfile import COOK_STAGE
from buildctl.build.dockerfile import parse as parse_dockerfile
from buildctl.config import WorkspaceMap
from buildctl.detect.revision import Revision
from buildctl.errors import BuildctlError
from buildctl.mapmodel import DEFAULT_BIN_ARG, DEFAULT_TARGET


@dataclass(frozen=True)
class Spec:
    """How one service is built: its Dockerfile, context and target, its own build arguments
    (the binary's too), those of them that reach the cook stage, and whether there is one."""

    dockerfile: str
    context: str
    target: str
    args: Mapping[str, str]
    cook_args: Mapping[str, str]
    has_cook: bool

    @property
    def group(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return self.dockerfile, self.context, tuple(sorted(self.cook_args.items()))

    def keyed(self) -> dict[str, str]:
        """What sets this service's image apart from another's built from the same Dockerfile
        (nothing, for the map's defaults: their keys stay what they were)."""
        out = dict(self.args)
        if self.context:
            out["(context)"] = self.context
        if self.target != DEFAULT_TARGET:
            out["(target)"] = self.target
        return out


def specs_of(rev: Revision, cfg: WorkspaceMap, names: list[str]) -> dict[str, Spec]:
    parsed: dict[str, tuple[bool, set[str] | None, str | None]] = {}
    out: dict[str, Spec] = {}
    for name in names:
        svc = cfg.services[name]
        if svc.dockerfile not in parsed:
            text = rev.snap.text(svc.dockerfile) if rev.snap.exists(svc.dockerfile) else None
            # A Dockerfile not there yet is taken to be buildctl's own (its stages, a cook).
            df = parse_dockerfile(text) if text is not None else None
            has_cook = df is None or df.stage(COOK_STAGE) is not None
            last = df.stages[-1].name if df is not None and df.stages else None
            reach = df.args_of(COOK_STAGE) if df is not None and has_cook else None
            parsed[svc.dockerfile] = (has_cook, reach, last)
        has_cook, reach, last = parsed[svc.dockerfile]
        target = svc.target or last or ""
        if not target:
            raise BuildctlError(
                f"service '{name}': the last stage of {svc.dockerfile} has no name to build it by",
                file=svc.dockerfile,
                hint="name it (FROM ... AS runtime), or set `target` under [services."
                f"{name}] to the stage to build",
            )
        own = dict(svc.build_args)
        if svc.bin_arg != DEFAULT_BIN_ARG or svc.bin:
            own[svc.bin_arg] = svc.binary
        cook_args = {k: v for k, v in own.items() if has_cook and (reach is None or k in reach)}
        out[name] = Spec(svc.dockerfile, svc.context, target, own, cook_args, has_cook)
    return out
