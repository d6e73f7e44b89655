#!/bin/bash
# tests/tls/test_tshark.sh -- egret's TLS decryption (tlsdec, through the
# unit test's --dump mode) against tshark's on every capture of pcaps/tls/:
# the same HTTP requests, with the same methods, URIs and bodies.
#   test_tshark.sh TEST_TLSDEC_BINARY SRCDIR
set -euo pipefail
bin=$1
root=$2
command -v tshark >/dev/null || { echo "FAIL - tshark not installed (scripts/bootstrap installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for cap in "$root"/pcaps/tls/*.pcap; do
    name=$(basename "$cap" .pcap)
    keylog="$root/pcaps/tls/$name.keylog"
    timeout 60 tshark -n -o "tls.keylog_file:$keylog" -d tcp.port==4433,tls -r "$cap" \
        -Y http.request -T fields -e http.request.method -e http.request.uri \
        -e http.file_data 2>/dev/null >"$tmp/$name.tshark"
    "$bin" --dump "$cap" "$keylog" >"$tmp/$name.egret"
    reqs=$(wc -l <"$tmp/$name.tshark")
    if [[ $name == *-h2 ]]; then
        # HTTP/2: the client's DATA bytes, as tshark and egret decrypt them.
        # tshark reassembles a body spread over several DATA frames and
        # shows the whole of it on the stream's last frame (END_STREAM),
        # after showing each earlier frame's own bytes: the last frames
        # alone are every request body once (the Chromium capture's body
        # is three DATA frames; each of its packets holds one frame).
        timeout 60 tshark -n -o "tls.keylog_file:$keylog" -d tcp.port==4433,tls -r "$cap" \
            -Y 'http2.type==0 && http2.flags.end_stream==1 && tcp.dstport==4433' \
            -T fields -e http2.data.data 2>/dev/null | tr -d '\n' >"$tmp/$name.tshark"
        echo >>"$tmp/$name.tshark"
        tlen=$(($(wc -c <"$tmp/$name.tshark") / 2))
        elen=$(($(wc -c <"$tmp/$name.egret") / 2))
        if [ "$tlen" -gt 0 ] && cmp -s "$tmp/$name.tshark" "$tmp/$name.egret"; then
            echo "ok   $name: HTTP/2 DATA bytes agree ($tlen bytes)"
        else
            echo "FAIL $name: HTTP/2 DATA bytes differ (tshark $tlen, egret $elen bytes;" \
                "first difference: $(cmp "$tmp/$name.tshark" "$tmp/$name.egret" 2>&1))" >&2
            fail=1
        fi
    elif [[ $name == *-cbc ]]; then
        # CBC suites are left out by design: tshark decrypts, egret must not.
        if [ "$reqs" -gt 0 ] && [ ! -s "$tmp/$name.egret" ]; then
            echo "ok   $name: CBC left out (tshark: $reqs request(s), egret: none)"
        else
            echo "FAIL $name: expected tshark to decrypt and egret not to" >&2
            fail=1
        fi
    elif [ "$reqs" -eq 0 ]; then
        echo "FAIL $name: tshark decrypted no request" >&2
        fail=1
    elif ! diff -u "$tmp/$name.tshark" "$tmp/$name.egret" >&2; then
        echo "FAIL $name: egret and tshark differ" >&2
        fail=1
    else
        echo "ok   $name: $reqs request(s) agree"
    fi
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "no captures in $root/pcaps/tls" >&2; exit 1; }
exit $fail
