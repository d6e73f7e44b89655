#!/bin/bash
# test_workers.sh EGRET SCRATCH -- --workers 1, 2 and 3 give the same set of
# records (sorted by the whole line: timestamp first, then flow_id, ...)
# on a time-ordered merge of the project's captures, on each capture and,
# when ../shared/pcaps exists, on each of nDPI's captures (external hosts
# only: the symmetric hash, ICMP echoes and replies).  Files (and standard
# input from a file) are read in place from a mapping; a pipe on standard
# input and pcapng (like a live capture) are copied into the chunks, so
# both kinds are checked.  Stats records are left out (they carry
# per-worker counters and timings).
set -u
egret=$1 scratch=$2 root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$scratch"
pass=0 fail=0
check() { if [ "$2" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
conf="$root/tests/testnet/egret-test.conf.lua"
eth=()
for f in "$root"/pcaps/*.pcap; do capinfos -E "$f" 2>/dev/null | grep -q Ethernet && eth+=("$f"); done
mergecap -F pcap -w "$scratch/all.pcap" "${eth[@]}"
# Every run must also exit 0: under ASan a leak or error in a worker thread
# shows only in the exit status (a pipe into sort would hide it).
sorted() { # OUTFILE EGRET-ARGS... (stdin passes through)
  local out=$1 rc
  shift
  "$egret" -q "$@" > "$out.raw"
  rc=$?
  check "exit status 0: egret $*" "$rc"
  # pcap_filename names the input, which differs between the ways one
  # capture is fed (a file, stdin, a pipe, pcapng): not compared
  sed 's/,"pcap_filename":"[^"]*"//' "$out.raw" | LC_ALL=C sort > "$out"
}
run() { sorted "$3" -r "$1" --eve alert,flow,dns,tls -c "$conf" --workers "$2"; }
run "$scratch/all.pcap" 1 "$scratch/w1.json"
n=$(wc -l < "$scratch/w1.json")
check "merged capture gives records ($n)" "$([ "$n" -gt 1000 ]; echo $?)"
check "merged capture has alerts" "$(grep -q '"event_type":"alert"' "$scratch/w1.json"; echo $?)"
for w in 2 3; do
  run "$scratch/all.pcap" $w "$scratch/w$w.json"
  cmp -s "$scratch/w1.json" "$scratch/w$w.json"
  check "merged capture: --workers $w equals --workers 1" $?
done
run - 2 "$scratch/q2.json" < "$scratch/all.pcap"
cmp -s "$scratch/w1.json" "$scratch/q2.json"
check "merged capture from stdin (a file: mapped): --workers 2 equals --workers 1" $?
for w in 2 3; do # a pipe: worker 0 reads, the chunks hold copies
  cat "$scratch/all.pcap" | run - $w "$scratch/q$w.json"
  cmp -s "$scratch/w1.json" "$scratch/q$w.json"
  check "merged capture through a pipe: --workers $w equals --workers 1" $?
done
shared="$root/../shared/pcaps"
if [ -d "$shared" ]; then
  for f in "$shared"/*.pcap "$shared"/*.pcapng; do
    [ -f "$f" ] || continue
    run "$f" 1 "$scratch/a.json"; run "$f" 2 "$scratch/b.json"
    cmp -s "$scratch/a.json" "$scratch/b.json"
    check "shared $(basename "$f"): --workers 2 equals --workers 1" $?
    run - 2 "$scratch/c.json" < "$f"
    cmp -s "$scratch/a.json" "$scratch/c.json"
    check "shared $(basename "$f") from stdin: --workers 2 equals --workers 1" $?
  done
fi
for f in "$root"/pcaps/*.pcap; do
  run "$f" 1 "$scratch/a.json"; run "$f" 2 "$scratch/b.json"
  cmp -s "$scratch/a.json" "$scratch/b.json"
  check "$(basename "$f"): --workers 2 equals --workers 1" $?
done
# No internal host: every flow goes by the symmetric hash (ICMP echo and
# reply differ in type, the flow table ignores it).
ext() { sorted "$3" -r "$1" --eve flow --home-net 192.0.2.255/32 --workers "$2"; }
for f in "$root"/pcaps/icmp.pcap "$root"/pcaps/ipv6-tcp.pcap "$root"/pcaps/dns-answers.pcap; do
  ext "$f" 1 "$scratch/a.json"
  for w in 2 3 4; do
    ext "$f" $w "$scratch/b.json"
    cmp -s "$scratch/a.json" "$scratch/b.json"
    check "$(basename "$f") without internal hosts: --workers $w equals --workers 1" $?
  done
done
# The replay workers walk the files together in chunks (a ring of 64
# chunks of up to 256 packets; the merged capture wraps it): a filter, a
# pcapng file (libpcap reads it, the chunks hold copies), and a directory
# of several files -- mapped, pcapng, one cut short inside a record, one
# that is not a capture -- in one run give the same records, the same
# error messages and the same exit status with 1, 2 and 3 workers.
run_f() { sorted "$3" -r "$1" --eve alert,flow,dns,tls -c "$conf" -f "tcp or udp port 53" --workers "$2"; }
run_f "$scratch/all.pcap" 1 "$scratch/f1.json"
check "filtered merged capture gives records" "$([ -s "$scratch/f1.json" ] && ! cmp -s "$scratch/f1.json" "$scratch/w1.json"; echo $?)"
for w in 2 3; do
  run_f "$scratch/all.pcap" $w "$scratch/f$w.json"
  cmp -s "$scratch/f1.json" "$scratch/f$w.json"
  check "filtered merged capture: --workers $w equals --workers 1" $?
done
editcap -F pcapng "$scratch/all.pcap" "$scratch/all.pcapng"
for w in 2 3; do
  run "$scratch/all.pcapng" $w "$scratch/n$w.json"
  cmp -s "$scratch/w1.json" "$scratch/n$w.json"
  check "merged capture as pcapng: --workers $w equals pcap with --workers 1" $?
done
# Each file is shifted 60,000,000 s (more than the merged capture spans)
# after the one before, so packet time only moves forward: replaying
# overlapping times is not deterministic across worker counts (a known
# limit, see README).
dir="$scratch/dir"
rm -rf "$dir" && mkdir -p "$dir"
cp "$root/pcaps/tls-sni.pcap" "$dir/a.pcap"
editcap -F pcapng -t 60000000 "$root/pcaps/http-host.pcap" "$dir/b.pcapng"
editcap -F pcap -t 120000000 "$root/pcaps/dns-answers.pcap" "$scratch/c.pcap"
head -c -10 "$scratch/c.pcap" > "$dir/c-cut.pcap"
echo "not a capture" > "$dir/d-junk.pcap"
editcap -F pcap -t 180000000 "$scratch/all.pcap" "$dir/e.pcap"
editcap -F pcap -t 240000000 "$root/pcaps/ai-upload.pcap" "$dir/f.pcap"
for w in 1 2 3; do
  "$egret" -q -r "$dir" --eve alert,flow,dns,tls -c "$conf" --workers $w > "$scratch/d$w.raw" 2> "$scratch/d$w.err"
  echo $? > "$scratch/d$w.rc"
  LC_ALL=C sort "$scratch/d$w.raw" > "$scratch/d$w.json"
done
check "directory: exit status 1 (read errors)" "$([ "$(cat "$scratch/d1.rc")" = 1 ]; echo $?)"
check "directory: the cut file is reported" "$(grep -q 'c-cut.pcap: truncated dump file' "$scratch/d1.err"; echo $?)"
check "directory: the junk file is reported" "$(grep -q 'd-junk.pcap' "$scratch/d1.err"; echo $?)"
check "directory: the merged capture after the errors is read" "$([ "$(wc -l < "$scratch/d1.json")" -gt "$n" ]; echo $?)"
# ai-upload.pcap (2025-03-01T10:00) moved by 240,000,000 s, after e.pcap
check "directory: the last file's alert is there" "$(grep -q '^{"timestamp":"2032-10-08T04:40:[^"]*","flow_id":[0-9]*,"event_type":"alert"' "$scratch/d1.json"; echo $?)"
for w in 2 3; do
  cmp -s "$scratch/d1.json" "$scratch/d$w.json"
  check "directory: --workers $w records equal --workers 1" $?
  cmp -s "$scratch/d1.err" "$scratch/d$w.err"
  check "directory: --workers $w messages equal --workers 1" $?
  cmp -s "$scratch/d1.rc" "$scratch/d$w.rc"
  check "directory: --workers $w exit status equals --workers 1" $?
done
# SIGINT while standard input is a pipe that has no more data yet (as
# with "tcpdump -w - | egret -r -"): only worker 0 reads a pipe, so the
# signal breaks its read; every worker then runs the packets read so far.
# The run stops within seconds with exit status 0, and 1, 2 and 3 workers
# give the same records.
editcap -r "$scratch/all.pcap" "$scratch/head.pcap" 1-3000 2>/dev/null
size=$(stat -c %s "$scratch/head.pcap")
idle() { # PID: CPU time unchanged for 300 ms
  local a b
  a=$(awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null) || return 1
  sleep 0.3
  b=$(awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$a" = "$b" ]
}
for w in 1 2 3; do
  fifo="$scratch/fifo$w"
  rm -f "$fifo" && mkfifo "$fifo"
  "$egret" -r - --eve alert,flow,dns,tls -c "$conf" --workers $w < "$fifo" > "$scratch/p$w.raw" 2> "$scratch/p$w.err" &
  pid=$!
  exec 9> "$fifo" # the writer stays open: egret waits for more
  cat "$scratch/head.pcap" >&9
  for _ in $(seq 600); do # all of it read (rchar), then idle
    [ "$(awk '/^rchar/ {print $2}' "/proc/$pid/io" 2>/dev/null || echo 0)" -ge "$size" ] && idle $pid && break
    sleep 0.1
  done
  kill -INT $pid
  for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  stopped=$(kill -0 $pid 2>/dev/null && echo 1 || echo 0)
  [ "$stopped" = 1 ] && kill -KILL $pid
  wait $pid
  rc=$?
  exec 9>&-
  check "pipe, --workers $w: SIGINT ends the run within 5 s" "$stopped"
  check "pipe, --workers $w: exit status 0 after SIGINT (got $rc)" "$rc"
  check "pipe, --workers $w: the summary says interrupted" "$(grep -q 'summary (interrupted)' "$scratch/p$w.err"; echo $?)"
  LC_ALL=C sort "$scratch/p$w.raw" > "$scratch/p$w.json"
done
check "pipe: records from the first 3,000 packets" "$([ "$(wc -l < "$scratch/p1.json")" -gt 50 ]; echo $?)"
for w in 2 3; do
  cmp -s "$scratch/p1.json" "$scratch/p$w.json"
  check "pipe, stopped by SIGINT: --workers $w equals --workers 1" $?
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
