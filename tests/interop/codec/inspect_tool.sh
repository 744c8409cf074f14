#!/bin/sh
# mqws-inspect as a tool: every sample capture decodes to JSON and encodes back to the same
# bytes (hex and binary paths), malformed input gives a JSON error naming the statement, and
# the JSON reader is strict.
# usage: inspect_tool.sh MQWS_INSPECT DATA_DIR [FUZZ_CORPUS_DIR]
set -u
inspect=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
pass() { echo "ok - $1"; }
fail() {
    echo "not ok - $1"
    fails=$((fails + 1))
}
# The hex digits of a capture, without comments and whitespace.
digits() { sed 's/#.*//' "$1" | tr -d ' \t\r\n' | tr 'A-F' 'a-f'; }

found=0
for sample in "$data"/sample-*.hex; do
    [ -e "$sample" ] || continue
    found=1
    name=$(basename "$sample")
    if "$inspect" --hex "$sample" >"$tmp/json"; then
        pass "$name decodes"
    else
        fail "$name decodes"
        cat "$tmp/json"
        continue
    fi
    "$inspect" --encode --hex <"$tmp/json" >"$tmp/hex" || fail "$name: --encode accepts the JSON"
    if [ "$(digits "$sample")" = "$(tr -d '\n' <"$tmp/hex")" ]; then
        pass "$name: hex -> JSON -> hex gives the same bytes"
    else
        fail "$name: hex -> JSON -> hex gives the same bytes"
    fi
    # Binary path: JSON -> bytes -> JSON must give the same JSON.
    "$inspect" --encode <"$tmp/json" >"$tmp/bin" &&
        "$inspect" - <"$tmp/bin" >"$tmp/json2"
    if cmp -s "$tmp/json" "$tmp/json2"; then
        pass "$name: binary JSON -> bytes -> JSON is stable"
    else
        fail "$name: binary JSON -> bytes -> JSON is stable"
    fi
done
[ $found = 1 ] || fail "sample captures found in $data"

# Every codec fuzz seed that decodes without error must encode back to the same bytes
# (decode -> JSON -> encode round trip on real-world-shaped inputs).
corpus=${3:-}
if [ -n "$corpus" ] && [ -d "$corpus" ]; then
    for spec in 3:codec_v31 4:codec_v311 5:codec_v5; do
        level=${spec%%:*}
        dir=$corpus/${spec#*:}
        [ -d "$dir" ] || continue
        total=0
        same=0
        for f in "$dir"/*; do
            "$inspect" --level "$level" "$f" >"$tmp/seed.json" 2>/dev/null || continue
            total=$((total + 1))
            if "$inspect" --encode --level "$level" <"$tmp/seed.json" >"$tmp/seed.bin" &&
                cmp -s "$tmp/seed.bin" "$f"; then
                same=$((same + 1))
            else
                echo "# round trip differs: $f"
            fi
        done
        if [ $total -gt 0 ] && [ $same = $total ]; then
            pass "level $level fuzz seeds: $same of $total valid ones round-trip byte for byte"
        else
            fail "level $level fuzz seeds: $same of $total valid ones round-trip byte for byte"
        fi
    done
fi

# expect_error NAME EXPECTED-SUBSTRING HEX: decode must print an error line and exit 1.
expect_error() {
    printf '%s\n' "$3" >"$tmp/bad.hex"
    "$inspect" --hex "$tmp/bad.hex" >"$tmp/out"
    rc=$?
    last=$(tail -n 1 "$tmp/out")
    case "$last" in
        *'"error":'*"$2"*) ok=1 ;;
        *) ok=0 ;;
    esac
    if [ $rc = 1 ] && [ $ok = 1 ]; then
        pass "$1"
    else
        fail "$1 (exit $rc): $last"
    fi
}
expect_error "PUBLISH QoS 3 is malformed [MQTT-3.3.1-4]" '"reason":129' '36 03 00 01 61'
expect_error "error names the statement" '"statement":"MQTT-3.3.1-4"' '36 03 00 01 61'
expect_error "error carries the stream offset" '"offset":' 'c0 00 36 03 00 01 61'
expect_error "input ending inside a packet" 'inside a packet' '30 05 00 01 61'
expect_error "reserved packet type 0" 'reserved packet type' '00 00'
expect_error "not a hex digit" 'not a hex digit' 'c0 0x'

# --from client applies the direction rules: a client never sends CONNACK.
printf '2002 0000\n' | "$inspect" --hex --from client >"$tmp/out"
if [ $? = 1 ] && grep -q '"reason":130' "$tmp/out"; then
    pass "--from client refuses a CONNACK"
else
    fail "--from client refuses a CONNACK"
fi

# --max-packet-size refuses from the fixed header alone (the body never arrives here).
printf '30 ff ff 03\n' | "$inspect" --hex --max-packet-size 100 >"$tmp/out"
if [ $? = 1 ] && grep -q '"error":"MQWS_ETOOBIG".*"reason":149' "$tmp/out"; then
    pass "--max-packet-size refuses before the body is buffered"
else
    fail "--max-packet-size refuses before the body is buffered: $(cat "$tmp/out")"
fi

# Packets before the error are printed first.
printf 'c000 c000 3603000161\n' | "$inspect" --hex >"$tmp/out"
if [ $? = 1 ] && [ "$(grep -c '"type":"PINGREQ"' "$tmp/out")" = 2 ]; then
    pass "packets decoded before an error are printed"
else
    fail "packets decoded before an error are printed"
fi

# --keep-going reports the bad packet and continues.
printf '3603000161 c000\n' | "$inspect" --hex --keep-going >"$tmp/out"
if [ $? = 1 ] && grep -q '"type":"PINGREQ"' "$tmp/out"; then
    pass "--keep-going continues after a bad packet"
else
    fail "--keep-going continues after a bad packet"
fi

# A CONNECT switches the level: the PUBACK after a 5.0 CONNECT carries a reason code.
printf '%s\n' '101000044d5154540502003c000003636964' '40 03 00 01 10' |
    "$inspect" --hex --level 4 >"$tmp/out"
if grep -q '"reason_code":16' "$tmp/out"; then
    pass "CONNECT switches the protocol level"
else
    fail "CONNECT switches the protocol level"
fi

# encode_ok NAME JSON EXPECTED-HEX [LEVEL]
encode_ok() {
    got=$(printf '%s\n' "$2" | "$inspect" --encode --hex --level "${4:-4}" 2>&1)
    if [ "$got" = "$3" ]; then pass "$1"; else fail "$1: got $got"; fi
}
encode_ok "\\u surrogate pair in a topic" \
    '{"type":"PUBLISH","topic":"\ud83d\ude00","payload":"ff"}' '30070004f09f9880ff'
encode_ok "escapes in strings" '{"type":"PUBLISH","topic":"a\"\\\/\t","payload":""}' \
    '3007000561225c2f09'
encode_ok "5.0 user properties keep their order" \
    '{"type":"PUBACK","packet_id":7,"reason_code":16,"properties":{"user_properties":[["b","1"],["a","2"],["b","3"]]}}' \
    '401900071015260001620001312600016100013226000162000133' 5

# encode_error NAME EXPECTED-SUBSTRING JSON [LEVEL [OPTIONS]]: --encode must refuse the line.
encode_error() {
    printf '%s\n' "$3" | "$inspect" --encode --hex --level "${4:-4}" ${5:-} ${6:-} >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc = 1 ] && grep -q "$2" "$tmp/err" && [ ! -s "$tmp/out" ]; then
        pass "$1"
    else
        fail "$1 (exit $rc): $(cat "$tmp/err")"
    fi
}
encode_error "unknown member" '"member":"bogus"' '{"type":"PINGREQ","bogus":1}'
encode_error "member given twice" 'twice' '{"type":"PINGREQ","type":"PINGREQ"}'
encode_error "lone surrogate" 'surrogate' '{"type":"PUBLISH","topic":"\ud83d","payload":""}'
encode_error "invalid UTF-8 in JSON" 'UTF-8' "$(printf '{"type":"PUBLISH","topic":"\377","payload":""}')"
encode_error "fractions are refused" 'integers' '{"type":"PUBACK","packet_id":1.5}'
encode_error "trailing garbage" 'trailing' '{"type":"PINGREQ"} x'
encode_error "properties need level 5" 'level 5' '{"type":"PUBACK","packet_id":1,"properties":{}}'
encode_error "wildcard in a topic name is refused by validation [MQTT-3.3.2-2]" 'MQTT-3.3.2-2' \
    '{"type":"PUBLISH","topic":"a/+","payload":""}'
encode_error "packet identifier 0 is refused" 'error' '{"type":"PUBACK","packet_id":0}'
encode_error "flags must agree" 'flags' '{"type":"PUBLISH","flags":1,"topic":"a","payload":""}'
encode_error "--from client: a client never sends CONNACK" 'server' '{"type":"CONNACK"}' 4 --from client
encode_error "nesting is bounded" 'deep' \
    '{"type":"PINGREQ","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'

if [ $fails -gt 0 ]; then
    echo "$fails failed"
    exit 1
fi
echo "all passed"
