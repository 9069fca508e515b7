"""What a bump changes: requests in, the new text of each kustomization out. No I/O here.

A request names a service and the image to deploy: `SERVICE=TAG` or `SERVICE=TAG@sha256:DIGEST`
on the command line, or a build result (`buildctl build --format json`) of this shape:

    {"services": {
        "auth-service": {"status": "pushed", "image": "ghcr.io/org/repo/auth-service",
                         "tag": "sha-<commit>", "digest": "sha256:<64 hex>"},
        "world-state":  {"status": "built", ...}}}

Only services whose image is in the registry are bumped: `status` "pushed", or "skipped" (the
input fingerprint was already pushed and the tag was copied to it); `digest` may be null or absent; `image`,
when present, may carry a tag or digest but must name the service's image from the map; any
other key is ignored. Names, tags and digests are checked before they reach a path or a command.

Each service's entry in `images:` of `deployments/<service>/kustomization.yaml` (the one whose
`newName`, or `name` without one, is the service's image) gets the new `newTag` and `digest`.
Without such an entry, one is added for the image the overlay's resources actually run. A tag
`sha-X` is never moved back to `sha-Y` when X descends from Y (another pipeline got there first).
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from buildctl import deployed
from buildctl.config import WorkspaceMap, check_service_name
from buildctl.deploy import helm, kustomize
from buildctl.errors import BuildctlError
from buildctl.tomlfile import did_you_mean

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_SHA_TAG = re.compile(r"^sha-([0-9a-f]{7,40})$")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

Reader = Callable[[str], "str | None"]  # repo-relative posix path -> text, None if no such file
Ancestry = Callable[[str, str], "bool | None"]  # (ancestor, descendant) -> None when it cannot tell
Status = Literal["updated", "unchanged", "skipped"]


@dataclass(frozen=True)
class Request:
    service: str
    tag: str
    digest: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.tag}@{self.digest}" if self.digest else self.tag


def _request(service: str, tag: str, digest: str | None, services: Collection[str], where: str) -> Request:
    check_service_name(service, where=f"{where}: service")
    if service not in services:
        raise BuildctlError(
            f"{where}: unknown service {service!r}{did_you_mean(service, services)}",
            hint=f"services in the map: {', '.join(sorted(services))}",
        )
    if not TAG.match(tag):
        raise BuildctlError(
            f"{where}: tag {tag!r} is not a docker tag",
            hint="a tag is 1-128 of A-Z a-z 0-9 _ . - and does not start with . or -",
        )
    if digest is not None and not DIGEST.match(digest):
        raise BuildctlError(f"{where}: digest {digest!r} is not sha256:<64 lower-case hex digits>")
    return Request(service, tag, digest)


def parse_arg(arg: str, services: Collection[str]) -> Request:
    """`SERVICE=TAG[@sha256:DIGEST]`."""
    service, eq, ref = arg.partition("=")
    if not eq:
        raise BuildctlError(f"{arg!r}: write SERVICE=TAG or SERVICE=TAG@sha256:DIGEST")
    tag, at, digest = ref.partition("@")
    return _request(service, tag, digest if at else None, services, where=repr(arg))


def parse_result(text: str, file: str, cfg: WorkspaceMap) -> list[Request]:
    """The services a build result says were pushed (shape in the module docstring)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BuildctlError(f"is not valid JSON: {exc.msg}", file=file, line=exc.lineno) from None
    except (ValueError, RecursionError) as exc:  # an integer or nesting too big for Python
        raise BuildctlError(f"is not valid JSON: {exc}", file=file) from None
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise BuildctlError('expected {"services": {"<service>": {"status": ..., "tag": ...}}}', file=file)
    out = []
    for name, entry in services.items():
        where = f"{file}: services.{name}"
        if not isinstance(entry, dict):
            raise BuildctlError(f"{where} must be an object")
        if entry.get("status") not in ("pushed", "skipped"):
            continue
        tag, digest, image = entry.get("tag"), entry.get("digest"), entry.get("image")
        if not isinstance(tag, str) or not isinstance(digest, str | None):
            raise BuildctlError(f"{where}: 'tag' must be a string and 'digest' a string or null")
        req = _request(name, tag, digest, cfg.services, where)
        if image is not None and (
            not isinstance(image, str) or deployed.image_name(image) != cfg.image(name)
        ):
            raise BuildctlError(
                f"{where}: image {image!r} is not {cfg.image(name)}, the image the map gives the service",
                hint="bump with the workspace map the build used",
            )
        out.append(req)
    return out


def merge(requests: Iterable[Request]) -> tuple[Request, ...]:
    seen: dict[str, Request] = {}
    for req in requests:
        if seen.setdefault(req.service, req) != req:
            raise BuildctlError(f"{req.service} is asked for twice: {seen[req.service].ref} and {req.ref}")
    return tuple(sorted(seen.values(), key=lambda r: r.service))


@dataclass(frozen=True)
class Change:
    service: str
    file: str
    image: str
    status: Status
    old: str | None  # the tag[@digest] the file had
    new: str  # the tag[@digest] asked for
    note: str
    before: str
    after: str

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "file": self.file, "from": self.old, "to": self.new, "note": self.note}


def short(ref: str) -> str:
    """`sha-<40 hex>[@sha256:<64 hex>]` → `sha-<12 hex>[@sha256:<12 hex>]`, for people."""
    tag, at, digest = ref.partition("@")
    m = _SHA_TAG.match(tag)
    return (f"sha-{m.group(1)[:12]}" if m else tag) + (f"@{digest[:19]}" if at else "")


@dataclass(frozen=True)
class Outcome:
    changes: tuple[Change, ...]

    @property
    def updated(self) -> list[Change]:
        return [c for c in self.changes if c.status == "updated"]

    @property
    def files(self) -> dict[str, str]:
        return {c.file: c.after for c in self.updated}

    def diff(self) -> str:
        """One unified diff per file, from before the first edit to after the last."""
        first: dict[str, str] = {}
        for c in self.updated:
            first.setdefault(c.file, c.before)
        out: list[str] = []
        for file, before in first.items():
            lines = difflib.unified_diff(
                before.splitlines(keepends=True),
                self.files[file].splitlines(keepends=True),
                f"a/{file}",
                f"b/{file}",
            )
            out.extend(
                line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
            )
        return "".join(out)

    def commit_message(self) -> str:
        changed = self.updated
        tags = {short(c.new.partition("@")[0]) for c in changed}
        if len(changed) <= 3:
            what = ", ".join(f"{c.service} {short(c.new.partition('@')[0])}" for c in changed)
        else:
            what = f"{len(changed)} services" + (f" {next(iter(tags))}" if len(tags) == 1 else "")
        body = "\n".join(f"{c.service}: {c.image}:{c.new}" for c in changed)
        return f"deploy: {what} [skip ci]\n\n{body}\n"


def _newer(current: str | None, wanted: str, is_ancestor: Ancestry) -> bool:
    """Is the deployed `sha-X` a descendant of the wanted `sha-Y` (so bumping would go back)?"""
    have, want = _SHA_TAG.match(current or ""), _SHA_TAG.match(wanted)
    if not have or not want:
        return False
    x, y = have.group(1), want.group(1)
    return not (x.startswith(y) or y.startswith(x)) and is_ancestor(y, x) is True


def _is_remote(resource: str) -> bool:
    return "://" in resource or resource.startswith(("git@", "github.com/", "gitlab.com/"))


def _containers(kdir: str, ktext: str, kfile: str, read: Reader, seen: set[str]) -> list[kustomize.Container]:
    found: list[kustomize.Container] = []
    for res in kustomize.resources(ktext, kfile):
        if _is_remote(res):
            continue
        target = posixpath.normpath(posixpath.join(kdir, res))
        if posixpath.isabs(res) or target == ".." or target.startswith("../"):
            raise BuildctlError(f"resource {res!r} is outside the repository", file=kfile)
        if target in seen:
            continue
        seen.add(target)
        sub = next(
            ((f, t) for f in KUSTOMIZATION_FILES if (t := read(posixpath.join(target, f))) is not None), None
        )
        if sub is not None:
            found += _containers(target, sub[1], posixpath.join(target, sub[0]), read, seen)
            continue
        text = read(target)
        if text is None:
            raise BuildctlError(f"resource {res!r} does not exist", file=kfile, hint="fix `resources:`")
        found += kustomize.containers(text, target)
    return found


def base_image(service: str, file: str, text: str, read: Reader) -> str:
    """The image name the overlay's resources run, which a new images entry must replace."""
    found = _containers(posixpath.dirname(file), text, file, read, set())
    names = {deployed.image_name(c.image) for c in found}
    if len(names) > 1:
        names = {deployed.image_name(c.image) for c in found if c.name == service}
    if len(names) == 1:
        return names.pop()
    listed = "; ".join(f"container {c.name!r} runs {c.image} ({c.file}:{c.line})" for c in found)
    raise BuildctlError(
        f"has no images entry for {service}, and "
        + (
            f"its resources run several images: {listed}"
            if found
            else "no container image was found in its resources"
        ),
        file=file,
        hint="add the entry by hand: images: [{name: <image in the base>, newName: <registry>/<service>, newTag: ...}]",
    )


def compute(cfg: WorkspaceMap, requests: Iterable[Request], read: Reader, is_ancestor: Ancestry) -> Outcome:
    """The change to each service's deployment file; raises on the first problem, before anything
    is written. Services that share a file (one Helm values file for several) edit it in turn."""
    changes = []
    edited: dict[str, str] = {}

    def current_text(path: str) -> str | None:
        return edited[path] if path in edited else read(path)

    for req in requests:
        deploy = cfg.deploy_of(req.service)
        image = cfg.image(req.service)
        if deploy.kind == "none" or deploy.file is None:
            note = 'deploy = "none": built and pushed only, nothing to bump'
            changes.append(Change(req.service, "", image or "", "skipped", None, req.ref, note, "", ""))
            continue
        if image is None and deploy.kind == "kustomize":
            raise BuildctlError("the map has no [workspace] registry, so no image to deploy", file=cfg.file)
        path = deploy.file
        before = current_text(path)
        if before is None:
            raise BuildctlError(
                f"{req.service} has no kustomization"
                if deploy.kind == "kustomize"
                else f"{req.service} has no Helm values file",
                file=path,
                hint="create it, or fix the map's deployments (or the service's `values`)",
            )
        if deploy.kind == "helm":
            found = helm.current(before, path, deploy.keys)
            have_tag, have_digest = found.tag, found.digest or None
            entry_exists = True
        else:
            entry = kustomize.current(before, path, image or "")
            have_tag, have_digest = (entry.tag, entry.digest) if entry is not None else (None, None)
            entry_exists = entry is not None
        old = None if not entry_exists else (f"{have_tag}@{have_digest}" if have_digest else have_tag)
        shown = image or deploy.keys.repository
        if entry_exists and _newer(have_tag, req.tag, is_ancestor):
            note = f"deployed {short(have_tag or '')} is newer than {short(req.tag)}; not moving it back"
            changes.append(Change(req.service, path, shown, "skipped", old, req.ref, note, before, before))
            continue
        keep = have_digest if have_tag == req.tag and not req.digest else req.digest
        note = ""
        if deploy.kind == "helm":
            after = helm.set_image(before, path, deploy.keys, image, req.tag, keep)
        elif not entry_exists:
            name = base_image(req.service, path, before, read)
            after = kustomize.add_image(before, path, name, image or "", req.tag, req.digest)
            note = f"added an images entry for {name}"
        else:
            after = kustomize.set_image(before, path, image or "", req.tag, keep)
        status: Status = "updated" if after != before else "unchanged"
        edited[path] = after
        changes.append(Change(req.service, path, shown, status, old, req.ref, note, before, after))
    return Outcome(tuple(changes))
