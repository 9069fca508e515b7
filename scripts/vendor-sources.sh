#!/usr/bin/env bash
# Put the workspace's external crate sources into the build context, for
# engines whose build containers cannot download from crates.io (see
# docs/build-infra-notes.md). Dockerfile.service picks up
# .cargo-offline/vendor when it exists and replaces crates.io with it; without
# the directory the image build downloads as usual (real CI).
#
# Usage: scripts/vendor-sources.sh [--workspace DIR] [--clean]
#   --workspace  workspace root (default: the repository this script is in)
#   --clean      remove DIR/.cargo-offline and exit
#
# Idempotent: does nothing while .cargo-offline/Cargo.lock.sha256 matches
# Cargo.lock. The host's cargo downloads (or reuses ~/.cargo/registry).
# .cargo-offline/ is a build artefact: never commit it.
set -euo pipefail

die() { printf '[vendor-sources] ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf '[vendor-sources] %s\n' "$*" >&2; }

WS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLEAN=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --workspace) WS="$(cd "${2:?--workspace needs a directory}" && pwd)"; shift 2 ;;
        --clean) CLEAN=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
OUT="$WS/.cargo-offline"
if [[ $CLEAN == 1 ]]; then
    rm -rf --one-file-system "$OUT"
    log "removed $OUT"
    exit 0
fi
[[ -f "$WS/Cargo.toml" ]] || die "no Cargo.toml in $WS"
[[ -f "$WS/Cargo.lock" ]] || die "no Cargo.lock in $WS (the image build uses --locked)"
command -v cargo >/dev/null || die "cargo not found on PATH"

want="$(sha256sum "$WS/Cargo.lock" | awk '{print $1}')"
if [[ -f "$OUT/Cargo.lock.sha256" && -d "$OUT/vendor" && "$(cat "$OUT/Cargo.lock.sha256")" == "$want" ]]; then
    log "$OUT is up to date with Cargo.lock"
    exit 0
fi
rm -rf --one-file-system "$OUT"
mkdir -p "$OUT"
log "cargo vendor --locked -> $OUT/vendor"
# cargo vendor prints the matching source-replacement config on stdout; the
# Dockerfile writes its own, so it is discarded.
cargo vendor --locked --quiet --manifest-path "$WS/Cargo.toml" "$OUT/vendor" >/dev/null \
    || die "cargo vendor failed"
# Keep each crate's package checksum (checked against Cargo.lock) but drop the
# per-file list: a .dockerignore pattern such as *.md would otherwise remove
# listed files from the context and make cargo reject the crate.
command -v python3 >/dev/null || die "python3 not found"
python3 - "$OUT/vendor" <<'PY' || die "rewriting .cargo-checksum.json failed"
import json, pathlib, sys
for f in pathlib.Path(sys.argv[1]).glob("*/.cargo-checksum.json"):
    data = json.loads(f.read_text())
    data["files"] = {}
    f.write_text(json.dumps(data, sort_keys=True))
PY
echo "$want" >"$OUT/Cargo.lock.sha256"
log "vendored $(find "$OUT/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) crates ($(du -sh "$OUT/vendor" | cut -f1))"
