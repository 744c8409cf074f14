#!/usr/bin/env bash
# Installs what building and testing mqws needs on Debian 12, and only what is missing:
# the toolchain (meson, ninja, gcc, clang with libFuzzer), valgrind, and the real peers the
# interop tests talk to (mosquitto, python3-websockets, python3-paho-mqtt, Node with the
# packages locked in tests/interop/node). Safe to run again: it does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

quiet=${BOOTSTRAP_QUIET:-0}
say() { [ "$quiet" = 1 ] || echo "bootstrap: $*"; }

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
want() { # want COMMAND-OR-TEST PACKAGE
    if ! eval "$1" >/dev/null 2>&1; then need_pkgs+=("$2"); fi
}

want "have meson" meson
want "have ninja" ninja-build
want "have gcc" gcc
want "have g++" g++
want "have clang" clang
want "ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" libclang-rt-14-dev
want "have pkg-config" pkg-config
want "have valgrind" valgrind
want "have clang-format" clang-format
want "have nm" binutils
want "test -x /usr/bin/python3" python3
want "/usr/bin/python3 -c 'import websockets'" python3-websockets
want "/usr/bin/python3 -c 'import paho.mqtt'" python3-paho-mqtt
want "have mosquitto || test -x /usr/sbin/mosquitto" mosquitto
want "have mosquitto_pub" mosquitto-clients
want "have node" nodejs
want "have npm" npm

if [ ${#need_pkgs[@]} -gt 0 ]; then
    # npm ships with some nodejs builds; only ask for the Debian package when neither has it.
    if have npm; then need_pkgs=("${need_pkgs[@]/npm/}"); fi
    read -r -a need_pkgs <<<"${need_pkgs[*]}"
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        sudo_cmd=()
    elif have sudo && sudo -n true 2>/dev/null; then
        sudo_cmd=(sudo)
    else
        echo "bootstrap: missing Debian packages: ${need_pkgs[*]}" >&2
        echo "bootstrap: run as root, or install them first:" >&2
        echo "    sudo apt-get install -y ${need_pkgs[*]}" >&2
        exit 1
    fi
    say "installing: ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    # Keep package installs from starting services (mosquitto would take port 1883).
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
        "${sudo_cmd[@]}" chmod +x "$policy"
        made_policy=1
    fi
    "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    if [ "$made_policy" = 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi
fi

# Node peers, exactly as locked.
node_dir=tests/interop/node
if [ -f "$node_dir/package-lock.json" ]; then
    stamp="$node_dir/node_modules/.mqws-lock"
    if [ ! -f "$stamp" ] || ! cmp -s "$node_dir/package-lock.json" "$stamp"; then
        say "installing Node test peers (npm ci in $node_dir)"
        (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        cp "$node_dir/package-lock.json" "$stamp"
    fi
fi
say "all build and test dependencies present"
