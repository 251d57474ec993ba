#!/usr/bin/env bash
# Checks the container image's binary without a Docker engine: builds Coxswain as the
# Dockerfile does (deploy/build-release.sh), lists the shared libraries it needs and
# fails when one is not provided by the runtime stage's packages (libc6, libsqlite3-0,
# libstdc++6, libgcc-s1, zlib1g), then starts it.
# Takes 10-20 minutes on 2 cores (a release build); not part of CI for that reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
binary=$(bash deploy/build-release.sh)

# Sonames the runtime stage's packages provide (Debian bookworm): libc6, libstdc++6,
# libgcc-s1, zlib1g, libsqlite3-0. (No libcurl: Coxswain does not link FoundationNetworking.)
allowed='^(linux-vdso|ld-linux-x86-64|libc|libm|libdl|libpthread|librt|libutil|libresolv|libstdc\+\+|libgcc_s|libz|libsqlite3)\.so'
echo "shared libraries of $binary:"
ldd "$binary" | tee /tmp/coxswain-ldd.txt
missing=$(awk '{print $1}' /tmp/coxswain-ldd.txt | xargs -n1 basename | grep -Ev "$allowed" || true)
if [ -n "$missing" ]; then
  echo "NOT provided by the runtime image: $missing" >&2
  exit 1
fi
if grep -q "not found" /tmp/coxswain-ldd.txt; then
  echo "a library is missing on this machine" >&2
  exit 1
fi
# What deploy/build-release.sh links for (a smaller idle footprint): nothing of the program
# exported, relative relocations packed.
exported=$(readelf --dyn-syms -W "$binary" | awk 'NR > 3 && $7 != "UND"' | wc -l)
[ "$exported" -lt 20 ] || { echo "the binary exports $exported symbols (expected: linked with --no-export-dynamic)" >&2; exit 1; }
readelf -d "$binary" | grep -q RELR || echo "note: relocations not packed (glibc older than 2.36 where it was built)" >&2
"$binary" --help >/dev/null
"$binary" manifest --socket-mode --commands commands >/dev/null
echo "ok: $(du -h "$binary" | cut -f1) binary (stripped); every shared library it needs comes with the runtime stage's packages; it starts"
