#!/usr/bin/env bash
# Builds Coxswain's container image from deploy/container/Dockerfile with buildah: no Docker
# engine needed, run as root. The image is what `docker build -f deploy/container/Dockerfile .`
# makes; CI builds it this way and runs it (ContainerImageRunTests).
#
#   bash deploy/container/build-image.sh [--tag NAME] [--local-bases]
#
# --tag NAME     The image's name; default ghcr.io/coxswain/coxswain:APPVERSION, the chart's
#                default image (appVersion of deploy/helm/coxswain/Chart.yaml). Push it with
#                `buildah push NAME` (after `buildah login ghcr.io`), or push it to your own
#                registry and set the chart's image.repository.
# --local-bases  Make the Dockerfile's three base images here instead of pulling them, for a
#                machine that reaches Debian's and PyPI's package servers but no image
#                registry: Debian 12 with mmdebstrap (--variant=minbase), the Swift image from
#                the toolchain at $SWIFT_TOOLCHAIN (default /opt/swift) with the packages the
#                official swift:bookworm image installs, Python from Debian's python3-pip. They
#                are made once and kept (localhost/coxswain-base/*); --rebuild-bases makes them
#                again. Where git reads github.com from a local package mirror (url.*.insteadOf
#                in git's system configuration), the mirror is mounted into the build; where
#                the machine trusts certificate authorities of its own, pip in the build is
#                given the machine's bundle. Neither is written into any image.
# Environment: STORAGE_DRIVER (buildah's default, overlay, unless set: vfs where overlay
# does not work), BUILDAH_ISOLATION (chroot).
# A first build takes 15-25 minutes on 2 cores (the release build of Coxswain).
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
tag=ghcr.io/coxswain/coxswain:$(sed -n 's/^appVersion: "\(.*\)"$/\1/p' deploy/helm/coxswain/Chart.yaml)
local_bases=0
rebuild_bases=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs a name, e.g. --tag coxswain:dev}; shift 2 ;;
    --local-bases) local_bases=1; shift ;;
    --rebuild-bases) local_bases=1; rebuild_bases=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-image.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
command -v buildah >/dev/null || { echo "build-image.sh: buildah is not installed (apt-get install buildah)" >&2; exit 1; }
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
buildah() { command buildah ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"} "$@"; }

build_args=()
mounts=()
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }

# A Debian 12 root filesystem with PACKAGES, committed as IMAGE, with TOOLCHAIN (a folder
# holding usr/) copied over it when given.
make_base() {
  local image=$1 packages=$2 toolchain=${3:-}
  if has_image "$image" && [ "$rebuild_bases" = 0 ]; then echo "base $image: kept"; return; fi
  command -v mmdebstrap >/dev/null || { echo "build-image.sh: --local-bases needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
  echo "base $image: making it with mmdebstrap${toolchain:+ and the toolchain in $toolchain}"
  local hooks=()
  [ -n "$packages" ] && hooks+=(--include="$packages")
  [ -n "$toolchain" ] && hooks+=(--customize-hook="sync-in $toolchain/usr /usr")
  mmdebstrap --quiet --variant=minbase "${hooks[@]}" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$scratch/rootfs.tar" http://deb.debian.org/debian
  local container
  container=$(buildah from scratch)
  buildah add --quiet "$container" "$scratch/rootfs.tar" /
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$container"
  buildah commit --quiet --rm "$container" "$image" >/dev/null
  rm -f "$scratch/rootfs.tar"
}

if [ "$local_bases" = 1 ]; then
  toolchain=${SWIFT_TOOLCHAIN:-/opt/swift}
  [ -x "$toolchain/usr/bin/swift" ] || { echo "build-image.sh: no Swift toolchain at $toolchain (set SWIFT_TOOLCHAIN)" >&2; exit 1; }
  swift_version=$("$toolchain/usr/bin/swift" --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -n 1)
  make_base localhost/coxswain-base/debian:12-minbase ""
  make_base localhost/coxswain-base/python:3-bookworm "python3,python3-pip,ca-certificates"
  # What swiftlang/swift-docker's Debian 12 image installs next to the toolchain.
  make_base "localhost/coxswain-base/swift:$swift_version-bookworm" \
    "binutils,libicu-dev,libcurl4-openssl-dev,libedit-dev,libsqlite3-dev,libncurses-dev,libpython3-dev,libxml2-dev,pkg-config,uuid-dev,tzdata,git,gcc,libstdc++-12-dev,ca-certificates" \
    "$toolchain"
  build_args+=(--pull=never
    --build-arg "SWIFT_IMAGE=localhost/coxswain-base/swift:$swift_version-bookworm"
    --build-arg "PYTHON_IMAGE=localhost/coxswain-base/python:3-bookworm"
    --build-arg "RUNTIME_IMAGE=localhost/coxswain-base/debian:12-minbase")
  # A local mirror of the Swift packages (git's url.<mirror>.insteadOf https://github.com/).
  mirror=$(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null | awk '$2 == "https://github.com/" { print $1; exit }' |
    sed -e 's/^url\.//' -e 's/\.insteadof$//')
  if [ -n "$mirror" ] && [ -d "$mirror" ]; then
    printf '[url "%s"]\n\tinsteadOf = https://github.com/\n' "$mirror" > "$scratch/gitconfig"
    mounts+=(-v "$mirror:$mirror:ro" -v "$scratch/gitconfig:/etc/gitconfig:ro")
  fi
  # Certificate authorities this machine adds to Debian's (an egress proxy's): pip needs them.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    printf '[global]\ncert = /run/coxswain-build/ca-certificates.crt\n' > "$scratch/pip.conf"
    mounts+=(-v /etc/ssl/certs/ca-certificates.crt:/run/coxswain-build/ca-certificates.crt:ro -v "$scratch/pip.conf:/etc/pip.conf:ro")
  fi
fi

started=$(date +%s)
buildah build --layers=false "${build_args[@]}" "${mounts[@]}" -f deploy/container/Dockerfile -t "$tag" .
echo "built $tag in $(( $(date +%s) - started )) s"
