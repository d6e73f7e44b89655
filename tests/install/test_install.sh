#!/bin/bash
# test_install.sh BUILD_DIR SCRATCH [SOURCE_DIR] -- 'cmake --install' puts
# the library, egret.h, egret.pc and the CLI in a prefix; a program built
# with 'pkg-config egret' alone links and runs against it; and the
# installed egret, run from another directory, uses the rules, data and
# GeoIP databases installed with it, not the source tree's.
set -u
build=$1 scratch=$2
src=${3:-$(sed -n 's/^egret_SOURCE_DIR:STATIC=//p' "$build/CMakeCache.txt")}
case $scratch in /*) ;; *) scratch=$PWD/$scratch ;; esac
rm -rf "$scratch"; mkdir -p "$scratch"
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL: $1" >&2; fi; }
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
p=$scratch/prefix
check "header installed" "[ -f $p/include/egret.h ]"
check "shared library" "ls $p/lib*/libegret.so* >/dev/null 2>&1"
check "static library" "ls $p/lib*/libegret.a >/dev/null 2>&1"
check "CLI installed" "[ -x $p/bin/egret ]"
pc=$(dirname "$(ls $p/lib*/pkgconfig/egret.pc)")
cat > "$scratch/embed.c" <<'C'
#include <egret.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    egret_config cfg;
    egret_config_init(&cfg);
    egret_engine *e;
    char err[EGRET_ERRBUF_SIZE];
    if (egret_engine_new(&cfg, &e, err) != EGRET_OK) { puts(err); return 1; }
    egret_engine_flush(e);
    egret_engine_free(e);
    printf("%s\n", egret_version());
    return strcmp(egret_version(), "") == 0;
}
C
# An ASan/UBSan build's library needs the same runtime in the program.
san=
grep -q '^EGRET_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null && san="-fsanitize=address,undefined"
libdir=$(dirname "$(ls $p/lib*/libegret.so | head -1)")
check "pkg-config build" "cc $san $scratch/embed.c \$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs egret) -Wl,-rpath,$libdir -o $scratch/embed"
# The library's default data is the configured prefix's; this prefix is
# another one, which the documented variable names.
check "embedded program runs" "[ -x $scratch/embed ] && EGRET_DATADIR=$p/share/egret $scratch/embed >/dev/null"

# Service files and man pages (issue 18), each well formed: the tools'
# stderr must be empty (they exit 0 on warnings).
unit=$p/lib/systemd/system/egret.service
check "egret.service installed" "[ -f $unit ]"
check "... naming the installed binary" "grep -q '^ExecStart=$p/bin/egret ' $unit"
check "... as user egret with only CAP_NET_RAW and CAP_NET_ADMIN" \
  "grep -q '^User=egret$' $unit && grep -q '^CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN$' $unit"
if command -v systemd-analyze >/dev/null; then
  # Documentation= names the man pages: man finds them in the prefix
  MANPATH=$p/share/man systemd-analyze verify "$unit" >"$scratch/verify.out" 2>"$scratch/verify.err"
  rc=$?
  check "systemd-analyze verify egret.service: exit 0, nothing on stderr" "[ $rc -eq 0 ] && [ ! -s $scratch/verify.err ]"
  [ -s "$scratch/verify.err" ] && sed 's/^/  verify: /' "$scratch/verify.err" >&2
else
  echo "WARNING: systemd-analyze missing: egret.service NOT verified" >&2
  fail=$((fail+1))
fi
check "logrotate snippet installed, with SIGHUP in postrotate" \
  "grep -q 'kill -s HUP' $p/etc/logrotate.d/egret && grep -q '/var/log/egret/eve.json' $p/etc/logrotate.d/egret"
check "sysusers.d snippet installed" "grep -q '^u egret ' $p/lib/sysusers.d/egret.conf"
for page in man1/egret.1 man7/egret-rules.7; do
  f=$p/share/man/$page
  check "$page installed" "[ -s $f ]"
  man --warnings -l "$f" >"$scratch/man.out" 2>"$scratch/man.err"
  rc=$?
  check "man --warnings -l $page: exit 0, nothing on stderr" "[ $rc -eq 0 ] && [ ! -s $scratch/man.err ] && [ -s $scratch/man.out ]"
  [ -s "$scratch/man.err" ] && sed "s|^|  $page: |" "$scratch/man.err" >&2
done
check "egret(1) lists every option (--alert-log, --truncate from --help)" \
  "man -l $p/share/man/man1/egret.1 2>/dev/null | grep -q -- '--alert-log' && man -l $p/share/man/man1/egret.1 2>/dev/null | grep -q -- '--truncate'"
check "egret-rules(7) documents the Lua API (alert{})" "man -l $p/share/man/man7/egret-rules.7 2>/dev/null | grep -qi 'alert{}'"

# The installed CLI, from another directory and without EGRET_DATADIR:
# the stats record names the rule files and GeoIP databases it loaded.
share=$p/share/egret
mkdir -p "$scratch/elsewhere"
( cd "$scratch/elsewhere" && env -u EGRET_DATADIR "$p/bin/egret" -q --eve stats \
    -r "$src/pcaps/ai-upload.pcap" >"$scratch/stats.json" 2>"$scratch/stats.err" )
rc=$?
check "installed egret runs from another directory" "[ $rc -eq 0 ] && [ -s $scratch/stats.json ]"
check "installed rules are used" "grep -q '\"file\":\"$share/rules/' $scratch/stats.json"
check "source tree's rules are not used" "! grep -q '\"file\":\"$src/rules/' $scratch/stats.json"
# An installed egret never falls back to the bundled test GeoIP databases
# unless its configuration asks (geo.test_databases).
check "installed egret does not use the test GeoIP databases" "! grep -q '\"path\":\"$share/geo/' $scratch/stats.json"
if ! ls /usr/share/GeoIP/*.mmdb /var/lib/GeoIP/*.mmdb >/dev/null 2>&1; then
  check "... so its records carry no geo" "grep -q '\"geo\":{\"enabled\":false}' $scratch/stats.json"
fi
# SYSCONFDIR/egret/egret.conf.lua is the installed egret's configuration.
mkdir -p "$p/etc/egret"
printf 'return {\n  geo = { test_databases = true },\n  outputs = { eve = { types = { "stats" } } },\n}\n' >"$p/etc/egret/egret.conf.lua"
( cd "$scratch/elsewhere" && env -u EGRET_DATADIR "$p/bin/egret" -q -r "$src/pcaps/ai-upload.pcap" \
    >"$scratch/sysconf.json" 2>"$scratch/sysconf.err" )
check "installed egret reads PREFIX/etc/egret/egret.conf.lua" "grep -q '\"event_type\":\"stats\"' $scratch/sysconf.json"
check "... where geo.test_databases = true allows the test databases, loudly" \
  "grep -q '\"test_databases\":true' $scratch/sysconf.json"
printf 'return {\n  outputs = { eve = { tpyes = { "stats" } } },\n}\n' >"$p/etc/egret/egret.conf.lua"
( cd "$scratch/elsewhere" && env -u EGRET_DATADIR "$p/bin/egret" -q -r "$src/pcaps/ai-upload.pcap" \
    >/dev/null 2>"$scratch/sysconf.err" )
rc=$?
check "a typo in the installed configuration: exit 2 with FILE:LINE" \
  "[ $rc -eq 2 ] && grep -q 'etc/egret/egret.conf.lua:2: outputs.eve.tpyes' $scratch/sysconf.err"
rm -f "$p/etc/egret/egret.conf.lua"
# The source and build trees moved away: the prefix copied outside them,
# and both hidden under an empty directory in a private mount namespace.
# The installed egret runs on what it installed, nothing else.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
  away=$(mktemp -d "${TMPDIR:-/tmp}/egret-install.XXXXXX")
  cp -a "$p" "$away/prefix" && cp "$src/pcaps/ai-upload.pcap" "$away/in.pcap" && mkdir -p "$away/empty"
  unshare -m sh -c "mount --bind '$away/empty' '$src' && { [ -d '$build/.' ] && mount --bind '$away/empty' '$build' 2>/dev/null; true; } && \
    [ ! -e '$src/rules' ] && cd '$away' && env -u EGRET_DATADIR '$away/prefix/bin/egret' -q --eve alert,stats -r '$away/in.pcap'" \
    >"$scratch/moved.json" 2>"$scratch/moved.err" </dev/null
  rc=$?
  check "installed egret runs with the source tree moved away" \
    "[ $rc -eq 0 ] && grep -q '\"file\":\"$away/prefix/share/egret/rules/' $scratch/moved.json && grep -q 9000005 $scratch/moved.json"
  rm -rf "$away"
else
  echo "NOTE: not root or no unshare: the moved-source-tree check is skipped" >&2
fi
check "installed --check-rules passes" "(cd $scratch/elsewhere && env -u EGRET_DATADIR $p/bin/egret -q --check-rules) >/dev/null 2>&1"
# A broken rule added to the installed set is what --check-rules reports
# (Lua shortens a long chunk name from the left: match its end).
printf 'this is not lua (\n' >"$share/rules/99-marker.lua"
(cd "$scratch/elsewhere" && env -u EGRET_DATADIR "$p/bin/egret" --check-rules) >"$scratch/check.out" 2>&1
rc=$?
check "--check-rules reads the installed rules" "[ $rc -eq 1 ] && grep -q 'prefix/share/egret/rules/99-marker.lua' $scratch/check.out"
# EGRET_DATADIR overrides: an empty directory has no rules.
mkdir -p "$scratch/empty"
EGRET_DATADIR=$scratch/empty "$p/bin/egret" --check-rules >"$scratch/empty.out" 2>&1
rc=$?
check "EGRET_DATADIR overrides the installed data" "[ $rc -ne 0 ] && grep -q '$scratch/empty/rules' $scratch/empty.out"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
