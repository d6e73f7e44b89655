#!/bin/bash
# test_install.sh BUILD_DIR SCRATCH -- 'cmake --install' puts the library,
# egret.h, egret.pc and the CLI in a prefix; a program built with
# 'pkg-config egret' alone links and runs against it.
set -u
build=$1 scratch=$2
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
check "embedded program runs" "[ -x $scratch/embed ] && $scratch/embed >/dev/null"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
