#!/usr/bin/env bash
# Builds the binary Coxswain ships, for the container image and for a VM: release, Swift's
# runtime linked in (--static-swift-stdlib: the machine needs no Swift), linked by the
# toolchain's lld with
#   --no-export-dynamic      Swift's static-stdlib link exports every symbol of the program:
#                            3 MB of symbol tables the dynamic loader searches at every start,
#                            for nothing (nothing loads code into Coxswain that links back)
#   -z pack-relative-relocs  relative relocations packed (DT_RELR): 15 KB instead of the 3 MB
#                            the loader reads at every start. The binary then needs glibc 2.36
#                            or later to run (Debian 12, Ubuntu 24.04, RHEL 10); on a build
#                            machine with an older glibc this one is left out.
# and stripped. Idle, it is 34 MB resident against 42 MB for `swift build -c release`
# (Benchmarks/run.sh measures both).
# Usage: bash deploy/build-release.sh [OUTPUT=.build-static/coxswain]   (10-20 minutes on 2 cores the first time)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH=/opt/swift/usr/bin:$PATH
output=${1:-.build-static/coxswain}

flags=(-Xswiftc -use-ld=lld -Xlinker --no-export-dynamic)
glibc=$(getconf GNU_LIBC_VERSION | awk '{ print $2 }')
if printf '2.36\n%s\n' "$glibc" | sort -V -C; then
  flags+=(-Xlinker -z -Xlinker pack-relative-relocs)
else
  echo "glibc $glibc: building without packed relocations (they need 2.36)" >&2
fi
swift build -c release --static-swift-stdlib --product coxswain --scratch-path .build-static "${flags[@]}" >&2
install -D -s -m 0755 .build-static/release/coxswain "$output"
echo "$output"
