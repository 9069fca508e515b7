#!/usr/bin/env bash
# Create the local base images that Dockerfile.service builds on when no
# registry can be pulled from (this machine, the CI runner of this project):
#
#   buildctl.local/debian:bookworm-slim      runtime base (debootstrap minbase, trimmed)
#   buildctl.local/rust-chef:<rustc-version> builder base: slim + gcc, libc6-dev,
#                                            pkg-config, ca-certificates, the host's
#                                            rustup toolchain (cargo, rustc, std) and
#                                            cargo-chef
#   buildctl.local/rust-chef:latest          alias of the above
#
# and, for arm64 images cross-compiled on this amd64 machine (no emulation):
#
#   buildctl.local/rust-chef-cross:<version> builder base for linux/arm64: slim + Debian's
#                                            Rust (rustc-web, cargo-web) with the arm64 std
#                                            (libstd-rust-web-dev:arm64), gcc-aarch64-linux-gnu,
#                                            libc6-dev-arm64-cross, lld and cargo-chef
#   buildctl.local/rust-chef-cross:latest    alias of the above
#   buildctl.local/debian:bookworm-runtime-arm64
#                                            runtime base for linux/arm64: a minimal root
#                                            (base-files, libc6, libgcc-s1, netbase; no shell)
#                                            unpacked from Debian's arm64 packages
#
# Idempotent: an image whose tag already exists is left alone (re-importing
# would give it a new id and invalidate every build cache built on it).
#
# Usage: scripts/bootstrap-images.sh [--force] [--print-tags]
#   --force       rebuild every image even if the tags exist
#   --print-tags  print the tags (KEY=VALUE, see below) and exit; builds nothing
#
# The last lines on stdout are machine-readable:
#   BUILDCTL_RUNTIME_IMAGE=buildctl.local/debian:bookworm-slim
#   BUILDCTL_CHEF_IMAGE=buildctl.local/rust-chef:1.95.0
#   BUILDCTL_CHEF_IMAGE_ALIAS=buildctl.local/rust-chef:latest
#   BUILDCTL_CROSS_CHEF_IMAGE=buildctl.local/rust-chef-cross:latest
#   BUILDCTL_ARM64_RUNTIME_IMAGE=buildctl.local/debian:bookworm-runtime-arm64
# Everything else goes to stderr.
#
# Environment overrides:
#   BUILDCTL_DEBIAN_MIRROR  Debian mirror for debootstrap (default: from apt's sources)
#   BUILDCTL_SECURITY_MIRROR  Debian security mirror (default: from apt's sources); the cross
#                           builder takes Debian's newest Rust (rustc-web) from it
#   BUILDCTL_SUITE          Debian suite (default: bookworm)
#   CARGO_CHEF_VERSION      cargo-chef version installed on the host if missing (default 0.1.78)
#   BUILDCTL_TMPDIR         parent of the temporary build root (default: /var/tmp)
#   DOCKER                  docker CLI to use (default: docker)
set -euo pipefail

SUITE="${BUILDCTL_SUITE:-bookworm}"
CARGO_CHEF_VERSION="${CARGO_CHEF_VERSION:-0.1.78}"
DOCKER="${DOCKER:-docker}"
TMP_PARENT="${BUILDCTL_TMPDIR:-/var/tmp}"
IMAGE_NS="buildctl.local"
SLIM_TAG="${IMAGE_NS}/debian:${SUITE}-slim"
CHEF_REPO="${IMAGE_NS}/rust-chef"
CROSS_REPO="${IMAGE_NS}/rust-chef-cross"
CROSS_ALIAS="${CROSS_REPO}:latest"
ARM64_TAG="${IMAGE_NS}/debian:${SUITE}-runtime-arm64"

FORCE=0
PRINT_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --print-tags) PRINT_ONLY=1 ;;
        -h|--help) sed -n '2,48p' "$0"; exit 0 ;;
        *) echo "bootstrap-images: unknown argument: $arg" >&2; exit 2 ;;
    esac
done

log() { printf '[bootstrap-images] %s\n' "$*" >&2; }
die() { printf '[bootstrap-images] ERROR: %s\n' "$*" >&2; exit 1; }

# --- the host toolchain -------------------------------------------------------
command -v rustc >/dev/null || die "rustc not found on PATH (the builder image copies the host toolchain)"
command -v cargo >/dev/null || die "cargo not found on PATH"
RUST_VERSION="$(rustc --version | awk '{print $2}')"
[[ "$RUST_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+ ]] || die "cannot parse rustc version from: $(rustc --version)"
SYSROOT="$(rustc --print sysroot)"
HOST_TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
CHEF_TAG="${CHEF_REPO}:${RUST_VERSION}"
CHEF_ALIAS="${CHEF_REPO}:latest"

print_tags() {
    echo "BUILDCTL_RUNTIME_IMAGE=${SLIM_TAG}"
    echo "BUILDCTL_CHEF_IMAGE=${CHEF_TAG}"
    echo "BUILDCTL_CHEF_IMAGE_ALIAS=${CHEF_ALIAS}"
    echo "BUILDCTL_CROSS_CHEF_IMAGE=${CROSS_ALIAS}"
    echo "BUILDCTL_ARM64_RUNTIME_IMAGE=${ARM64_TAG}"
}
if [[ $PRINT_ONLY == 1 ]]; then print_tags; exit 0; fi

"$DOCKER" info >/dev/null 2>&1 || die "the docker engine is not reachable with '$DOCKER info'"

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

need_slim=1; need_chef=1; need_cross=1; need_arm64=1
if [[ $FORCE == 0 ]]; then
    image_exists "$SLIM_TAG" && need_slim=0
    image_exists "$CHEF_TAG" && need_chef=0
    image_exists "$CROSS_ALIAS" && need_cross=0
    image_exists "$ARM64_TAG" && need_arm64=0
fi
if [[ $need_slim == 0 && $need_chef == 0 && $need_cross == 0 && $need_arm64 == 0 ]]; then
    image_exists "$CHEF_ALIAS" || "$DOCKER" tag "$CHEF_TAG" "$CHEF_ALIAS"
    log "images exist, nothing to do (use --force to rebuild)"
    print_tags
    exit 0
fi
# A new runtime base means a new image id; the builders are rebuilt on top of it.
if [[ $need_slim == 1 ]]; then need_chef=1; need_cross=1; fi

START=$SECONDS

# --- host packages --------------------------------------------------------------
APT_UPDATED=0
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [[ ${#missing[@]} == 0 ]] && return 0
    command -v apt-get >/dev/null || die "apt-get not found; install: ${missing[*]}"
    if [[ $APT_UPDATED == 0 ]]; then
        log "apt-get update"
        apt-get update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
}
[[ $need_slim == 1 ]] && apt_install debootstrap

# --- cargo-chef on the host (built in the background while debootstrap runs) ----
CHEF_BIN=""
find_chef() {
    local c
    for c in "$(command -v cargo-chef 2>/dev/null || true)" "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-chef"; do
        if [[ -n "$c" && -x "$c" ]]; then CHEF_BIN="$c"; return 0; fi
    done
    return 1
}
CHEF_PID=""
WORK=""
cleanup() {
    local rc=$?
    if [[ -n "$CHEF_PID" ]]; then kill "$CHEF_PID" 2>/dev/null || true; wait "$CHEF_PID" 2>/dev/null || true; fi
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        # debootstrap mounts proc/sys (and may bind /dev) inside the root: never
        # rm -rf across a mount point.
        local m
        while read -r m; do umount -l "$m" 2>/dev/null || true; done \
            < <(awk -v w="$WORK/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r)
        rm -rf --one-file-system "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$TMP_PARENT"
WORK="$(mktemp -d "${TMP_PARENT%/}/buildctl-bootstrap.XXXXXX")"

if [[ $need_chef == 1 || $need_cross == 1 ]] && ! find_chef; then
    log "installing cargo-chef ${CARGO_CHEF_VERSION} on the host (cargo install --locked, in the background)"
    # opt-level 0: cargo-chef only reads manifests and drives cargo, so an
    # unoptimised build is as good and compiles in ~30 s instead of ~80 s.
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
        CARGO_TARGET_DIR="$WORK/cargo-chef-target" \
        cargo install cargo-chef --locked --version "$CARGO_CHEF_VERSION" >"$WORK/cargo-chef-install.log" 2>&1 &
    CHEF_PID=$!
fi

# --- runtime base: debootstrap minbase + docker import -------------------------
# The first URI in apt's sources whose path ends in /$1 (deb822 "URIs: http://host/debian" or
# one-line "deb [opts] http://host/debian suite ..."), else $2.
apt_source_uri() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r "$f" ]] || continue
        uri="$(grep -hoE "(https?|file)://[^ ]+/$1/?( |\$)" "$f" | head -n1 | tr -d ' ' || true)"
        if [[ -n "$uri" ]]; then echo "${uri%/}"; return; fi
    done
    echo "$2"
}
debian_mirror() {
    if [[ -n "${BUILDCTL_DEBIAN_MIRROR:-}" ]]; then echo "$BUILDCTL_DEBIAN_MIRROR"; return; fi
    apt_source_uri debian "http://deb.debian.org/debian"
}
security_mirror() {
    if [[ -n "${BUILDCTL_SECURITY_MIRROR:-}" ]]; then echo "$BUILDCTL_SECURITY_MIRROR"; return; fi
    apt_source_uri debian-security "http://deb.debian.org/debian-security"
}

if [[ $need_slim == 1 ]]; then
    MIRROR="$(debian_mirror)"
    ROOT="$WORK/rootfs"
    log "debootstrap --variant=minbase $SUITE from $MIRROR"
    t0=$SECONDS
    debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
        tail -n 30 "$WORK/debootstrap.log" >&2
        die "debootstrap failed (full log above was $WORK/debootstrap.log)"
    }
    log "debootstrap done in $((SECONDS - t0))s"

    # Trim like the official slim variant: no docs but copyright, no man pages,
    # no locales, no apt caches; keep future apt installs in derived images slim.
    mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d" "$ROOT/etc/apt/apt.conf.d"
    cat >"$ROOT/etc/dpkg/dpkg.cfg.d/buildctl-slim" <<'EOF'
# buildctl.local slim image: keep derived images small
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    cat >"$ROOT/etc/apt/apt.conf.d/buildctl-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    find "$ROOT/usr/share/doc" -mindepth 1 -type f ! -name copyright -delete
    find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
    find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/usr/share/groff/* "$ROOT"/usr/share/lintian/*
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/*
    rm -rf "$ROOT"/var/log/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
    : >"$ROOT/etc/resolv.conf"   # the engine provides its own at run time
    rm -f "$ROOT/etc/hostname"
    : >"$ROOT/etc/machine-id"

    log "docker import -> $SLIM_TAG"
    tar --numeric-owner --xattrs -C "$ROOT" -c . | "$DOCKER" import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' \
        --message "buildctl.local debootstrap --variant=minbase $SUITE" \
        - "$SLIM_TAG" >/dev/null || die "docker import failed"
    rm -rf --one-file-system "$ROOT"
fi

# The cargo-chef binary both builder images copy in: the background install's, once it is done.
await_chef() {
    if [[ -n "$CHEF_PID" ]]; then
        log "waiting for cargo install cargo-chef"
        if ! wait "$CHEF_PID"; then
            CHEF_PID=""
            tail -n 30 "$WORK/cargo-chef-install.log" >&2
            die "cargo install cargo-chef failed"
        fi
        CHEF_PID=""
    fi
    find_chef || die "cargo-chef binary not found after install (looked on PATH and in \$CARGO_HOME/bin)"
}

# --- builder base: slim + C toolchain + host rust toolchain + cargo-chef --------
if [[ $need_chef == 1 ]]; then
    await_chef
    CHEF_VERSION_FOUND="$("$CHEF_BIN" --version 2>/dev/null | awk '{print $2}')"

    CTX="$WORK/chef-context"
    TC="$CTX/toolchain"
    mkdir -p "$TC/bin" "$TC/lib" "$CTX/cargo-bin"
    [[ -x "$SYSROOT/bin/cargo" && -x "$SYSROOT/bin/rustc" ]] \
        || die "no bin/cargo and bin/rustc under the sysroot $SYSROOT"
    cp -a "$SYSROOT/bin/cargo" "$SYSROOT/bin/rustc" "$TC/bin/"
    # lib/: librustc_driver, libLLVM and rustlib/<host>; leave out docs (share/),
    # rustdoc/clippy/rustfmt, sanitizer runtimes and the wasm linker.
    cp -a "$SYSROOT/lib/." "$TC/lib/"
    HOST_LIB="$TC/lib/rustlib/$HOST_TRIPLE"
    rm -f "$HOST_LIB"/lib/librustc-*_rt.*san.a "$HOST_LIB"/bin/wasm-component-ld
    rm -f "$TC/lib/rustlib/multirust-channel-manifest.toml"
    cp "$CHEF_BIN" "$CTX/cargo-bin/cargo-chef"

    cat >"$CTX/Dockerfile" <<EOF
FROM ${SLIM_TAG}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev pkg-config \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY toolchain/ /usr/local/
COPY cargo-bin/ /usr/local/cargo/bin/
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    RUST_VERSION=${RUST_VERSION}
RUN rustc --version && cargo --version && cargo chef --version && gcc --version | head -n1
LABEL org.opencontainers.image.title="buildctl.local rust-chef" \\
      org.opencontainers.image.version="${RUST_VERSION}" \\
      local.buildctl.cargo-chef.version="${CHEF_VERSION_FOUND}"
EOF
    log "building $CHEF_TAG (rustc $RUST_VERSION from $SYSROOT, cargo-chef $CHEF_VERSION_FOUND)"
    t0=$SECONDS
    # Classic builder; the engine needs host networking for RUN on this machine.
    DOCKER_BUILDKIT=0 "$DOCKER" build --network host --no-cache -q -t "$CHEF_TAG" "$CTX" >"$WORK/chef-build.log" 2>&1 || {
        tail -n 40 "$WORK/chef-build.log" >&2
        die "building $CHEF_TAG failed"
    }
    "$DOCKER" tag "$CHEF_TAG" "$CHEF_ALIAS"
    log "builder image done in $((SECONDS - t0))s"
else
    image_exists "$CHEF_ALIAS" || "$DOCKER" tag "$CHEF_TAG" "$CHEF_ALIAS"
fi

# --- cross builder for linux/arm64: Debian's Rust with the arm64 std ---------------
# rustup cannot add targets here (static.rust-lang.org is unreachable), so the host's
# toolchain has no arm64 std; Debian ships a matching pair (rustc-web for the host,
# libstd-rust-web-dev:arm64) in bookworm-security. Everything runs on amd64: cargo compiles
# for aarch64-unknown-linux-gnu and links with aarch64-linux-gnu-gcc (lld as its linker), so
# no compiler ever runs under emulation. Debian's rustc is built without rustup's PGO and
# jemalloc: preloading jemalloc (the rustc wrapper) and linking with lld win back about a
# third of the difference.
if [[ $need_cross == 1 ]]; then
    await_chef
    XCTX="$WORK/cross-context"
    mkdir -p "$XCTX/cargo-bin" "$XCTX/bin"
    cp "$CHEF_BIN" "$XCTX/cargo-bin/cargo-chef"
    cat >"$XCTX/bin/rustc" <<'EOF'
#!/bin/sh
# Debian's rustc with jemalloc preloaded (also into the linker it runs): ~15% faster builds.
LD_PRELOAD="/usr/lib/x86_64-linux-gnu/libjemalloc.so.2${LD_PRELOAD:+:$LD_PRELOAD}" exec /usr/bin/rustc "$@"
EOF
    chmod 755 "$XCTX/bin/rustc"
    SECURITY="$(security_mirror)"
    cat >"$XCTX/Dockerfile" <<EOF
FROM ${SLIM_TAG}
RUN echo "deb ${SECURITY} ${SUITE}-security main" >/etc/apt/sources.list.d/buildctl-security.list \\
 && dpkg --add-architecture arm64 \\
 && apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev pkg-config \\
        rustc-web cargo-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu libc6-dev-arm64-cross \\
        lld libjemalloc2 \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \\
 && mkdir -p /usr/local/lib/buildctl-lld && ln -s /usr/bin/ld.lld /usr/local/lib/buildctl-lld/ld
COPY bin/ /usr/local/bin/
COPY cargo-bin/ /usr/local/cargo/bin/
# -B: aarch64-linux-gnu-gcc finds "ld" there first, i.e. links with lld instead of ld.bfd.
ENV CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \\
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-B/usr/local/lib/buildctl-lld"
RUN test -f /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 \\
 && rustc --version && cargo --version && cargo chef --version && aarch64-linux-gnu-gcc --version | head -n1 \\
 && echo 'fn main() { println!("ok"); }' >/tmp/hello.rs \\
 && rustc -O --target aarch64-unknown-linux-gnu -C linker=aarch64-linux-gnu-gcc \\
        -C link-arg=-B/usr/local/lib/buildctl-lld -o /tmp/hello /tmp/hello.rs \\
 && rm -f /tmp/hello /tmp/hello.rs
LABEL org.opencontainers.image.title="buildctl.local rust-chef-cross" \\
      local.buildctl.rust-target="aarch64-unknown-linux-gnu" \\
      local.buildctl.cargo-chef.version="$("$CHEF_BIN" --version 2>/dev/null | awk '{print $2}')"
EOF
    log "building $CROSS_ALIAS (Debian's rustc-web and the arm64 std, from ${SECURITY})"
    t0=$SECONDS
    DOCKER_BUILDKIT=0 "$DOCKER" build --network host --no-cache -q -t "$CROSS_ALIAS" "$XCTX" >"$WORK/cross-build.log" 2>&1 || {
        tail -n 40 "$WORK/cross-build.log" >&2
        die "building $CROSS_ALIAS failed"
    }
    CROSS_VERSION="$("$DOCKER" run --rm --network none "$CROSS_ALIAS" rustc --version | awk '{print $2}')"
    [[ -n "$CROSS_VERSION" ]] && "$DOCKER" tag "$CROSS_ALIAS" "${CROSS_REPO}:${CROSS_VERSION}"
    log "cross builder image (rustc ${CROSS_VERSION:-?}) done in $((SECONDS - t0))s"
fi

# --- runtime base for linux/arm64: Debian's arm64 packages, unpacked ---------------
# No emulation here either: a container of the slim image downloads the arm64 .debs and
# unpacks them with dpkg-deb (no maintainer scripts: they would need arm64 binaries to run);
# /etc/passwd and /etc/group are base-passwd's masters, as its postinst would copy them. The
# root is loaded as an image whose config says arm64 (`docker import` on this engine ignores
# --platform): Dockerfile.service's runtime stage adds to it without running anything.
if [[ $need_arm64 == 1 ]]; then
    ACTX="$WORK/arm64"
    mkdir -p "$ACTX/image"
    cat >"$ACTX/mkroot.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
exec 3>&1 1>&2   # the root's tar goes to stdout, everything else to stderr
dpkg --add-architecture arm64
apt-get update -qq
mkdir -p /debs && cd /debs
apt-get download -qq base-files:arm64 base-passwd:arm64 libc6:arm64 libgcc-s1:arm64 netbase
R=/rootfs
mkdir -p "$R/usr/bin" "$R/usr/sbin" "$R/usr/lib"
ln -s usr/bin "$R/bin"; ln -s usr/sbin "$R/sbin"; ln -s usr/lib "$R/lib"   # merged /usr, as bookworm
for deb in *.deb; do dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$R"; done
cp "$R/usr/share/base-passwd/passwd.master" "$R/etc/passwd"
cp "$R/usr/share/base-passwd/group.master" "$R/etc/group"
find "$R/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$R/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/lintian/* "$R"/usr/share/locale/*
: >"$R/etc/machine-id"
tar --numeric-owner -C "$R" -c . >&3
EOF
    chmod 755 "$ACTX/mkroot.sh"
    log "unpacking Debian's arm64 runtime packages -> $ARM64_TAG"
    "$DOCKER" run --rm --network host -v "$ACTX/mkroot.sh:/mkroot.sh:ro" "$SLIM_TAG" /mkroot.sh \
        >"$ACTX/layer.tar" 2>"$WORK/arm64-root.log" || {
        tail -n 30 "$WORK/arm64-root.log" >&2
        die "making the arm64 root failed"
    }
    # A `docker save` layout with one layer: manifest.json, <config digest>.json, <layer>/layer.tar.
    layer="$(sha256sum "$ACTX/layer.tar" | cut -d' ' -f1)"
    mkdir -p "$ACTX/image/$layer"
    mv "$ACTX/layer.tar" "$ACTX/image/$layer/layer.tar"
    created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf '{"architecture":"arm64","os":"linux","created":"%s","config":{"Env":["%s"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"buildctl bootstrap-images.sh: %s arm64 runtime root"}]}' \
        "$created" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$layer" "$created" "$SUITE" \
        >"$ACTX/config.json"
    config="$(sha256sum "$ACTX/config.json" | cut -d' ' -f1)"
    mv "$ACTX/config.json" "$ACTX/image/$config.json"
    printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$ARM64_TAG" "$layer" \
        >"$ACTX/image/manifest.json"
    tar -C "$ACTX/image" -c . | "$DOCKER" load -q >&2 || die "docker load of $ARM64_TAG failed"
    arch="$("$DOCKER" image inspect -f '{{.Architecture}}' "$ARM64_TAG")"
    [[ "$arch" == arm64 ]] || die "$ARM64_TAG was loaded as $arch, not arm64"
    rm -rf --one-file-system "$ACTX"
fi

log "done in $((SECONDS - START))s"
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' "${IMAGE_NS}/*" >&2 || true
print_tags
