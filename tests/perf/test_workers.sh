#!/bin/bash
# test_workers.sh EGRET SCRATCH -- --workers 1, 2 and 3 give the same set of
# records (sorted by the whole line: timestamp first, then flow_id, ...)
# on a time-ordered merge of the project's captures and on each capture.
# Stats records are left out (they carry per-worker counters and timings).
set -u
egret=$1 scratch=$2 root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$scratch"
pass=0 fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
conf="$root/tests/testnet/egret-test.conf.lua"
eth=()
for f in "$root"/pcaps/*.pcap; do capinfos -E "$f" 2>/dev/null | grep -q Ethernet && eth+=("$f"); done
mergecap -F pcap -w "$scratch/all.pcap" "${eth[@]}"
run() { "$egret" -q -r "$1" --eve alert,flow,dns,tls -c "$conf" --workers "$2" | LC_ALL=C sort; }
run "$scratch/all.pcap" 1 > "$scratch/w1.json"
n=$(wc -l < "$scratch/w1.json")
check "merged capture gives records ($n)" "$([ "$n" -gt 1000 ]; echo $?)"
check "merged capture has alerts" "$(grep -q '"event_type":"alert"' "$scratch/w1.json"; echo $?)"
for w in 2 3; do
  run "$scratch/all.pcap" $w > "$scratch/w$w.json"
  cmp -s "$scratch/w1.json" "$scratch/w$w.json"
  check "merged capture: --workers $w equals --workers 1" $?
done
for f in "$root"/pcaps/*.pcap; do
  run "$f" 1 > "$scratch/a.json"; run "$f" 2 > "$scratch/b.json"
  cmp -s "$scratch/a.json" "$scratch/b.json"
  check "$(basename "$f"): --workers 2 equals --workers 1" $?
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
