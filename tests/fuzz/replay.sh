#!/bin/bash
# tests/fuzz/replay.sh -- the ctest fuzz_regressions: every fuzz target's
# replay executable (onefile.c) over its regression inputs and its
# committed seed corpus.  A crash or sanitizer report fails the test.
#   replay.sh BUILD_DIR FUZZ_DIR TARGET...
set -uo pipefail
build=$1 dir=$2
shift 2
rc=0
for t in "$@"; do
  out=$("$build/fuzz_replay_$t" "$dir/regressions/$t" "$dir/corpus/$t" 2>&1)
  s=$?
  echo "$t: ${out##*$'\n'}"
  if [ $s -ne 0 ]; then
    echo "$out" | tail -40
    echo "FAIL: fuzz_replay_$t exited $s" >&2
    rc=1
  fi
done
exit $rc
