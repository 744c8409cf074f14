#!/bin/sh
# Only MQWS_API functions may be exported from the shared library: every defined dynamic
# symbol must carry the mqws_ prefix.
set -eu
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^mqws_' || true)
if [ -n "$bad" ]; then
    echo "non-API symbols exported from $lib:" >&2
    echo "$bad" >&2
    exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' mqws_')
echo "$count exported symbols, all mqws_*"
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
case "$soname" in
libmqws.so.[0-9]*) echo "SONAME $soname" ;;
*) echo "unexpected SONAME '$soname'" >&2; exit 1 ;;
esac
