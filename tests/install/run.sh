#!/bin/sh
# Installs the build into a scratch DESTDIR and builds small C and C++ programs against the
# installed headers and library through pkg-config only, shared and static.
set -eu
build=$1
src=$2
dest=$3
rm -rf "$dest"
meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >/dev/null
pc=$(find "$dest" -name mqws.pc | head -n 1)
[ -n "$pc" ] || { echo "mqws.pc was not installed" >&2; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$dest"
libdir=$(dirname "$(dirname "$pc")")
cflags=$(pkg-config --cflags mqws)
libs=$(pkg-config --libs mqws)
out="$dest/.bin"
mkdir -p "$out"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $cflags "$src/consumer.c" -o "$out/consumer-c" $libs
c++ -std=c++17 -Wall -Wextra -Wpedantic -Werror $cflags "$src/consumer.cpp" -o "$out/consumer-cpp" $libs
LD_LIBRARY_PATH="$libdir" "$out/consumer-c"
LD_LIBRARY_PATH="$libdir" "$out/consumer-cpp"
# Static: the archive alone must satisfy the program.
cc -std=c11 -Werror $cflags "$src/consumer.c" -o "$out/consumer-static" \
    "$libdir/libmqws.a" $(pkg-config --libs-only-other mqws)
"$out/consumer-static"
# The consumer must not have picked up anything from the source tree.
if ldd "$out/consumer-c" | grep -q "$build"; then
    echo "consumer linked against the build tree, not the installed library" >&2
    exit 1
fi
echo "install + pkg-config: C, C++ and static consumers OK"
