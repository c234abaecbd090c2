#!/usr/bin/env bash
# What test/compiled/release-smoke.ts needs to run every release target on a Debian x64 machine:
# - qemu-user-static, with Debian's arm64 glibc (libc6:arm64) for linux-arm64;
# - the musl loaders (musl, musl:arm64) for the musl targets;
# - a libstdc++.so.6 for musl, which Bun's musl runtime links dynamically (on Alpine: apk add libstdc++). Debian has
#   none, so it is linked here from Debian's static libstdc++ (built for glibc) against musl, with stand-ins for the
#   few glibc-only symbols it uses. A test fixture only: it is good enough to start kgate, not something to ship.
# Writes dist/musl-libstdcxx/{x64,arm64}/libstdc++.so.6, which release-smoke.ts uses. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

packages=(qemu-user-static libc6:arm64 musl musl:arm64 musl-dev musl-tools musl-dev:arm64 g++ g++-aarch64-linux-gnu)
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
  echo "release-tools.sh: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

out=dist/musl-libstdcxx
mkdir -p "$out/x64" "$out/arm64"
cat > "$out/glibc-only.c" <<'EOF'
// glibc symbols that Debian's libstdc++.a refers to and musl lacks.
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <time.h>
char __libc_single_threaded = 0;
struct dl_find_object;
int _dl_find_object(void *pc, struct dl_find_object *result) { (void)pc; (void)result; return -1; }
uint32_t arc4random(void) { uint32_t value = 0; getrandom(&value, sizeof value, 0); return value; }
size_t __strftime_l(char *s, size_t max, const char *format, const struct tm *tm, locale_t locale) { return strftime_l(s, max, format, tm, locale); }
int __cxa_thread_atexit_impl(void (*destructor)(void *), void *object, void *dso) { (void)destructor; (void)object; (void)dso; return 0; }
unsigned long __getauxval(unsigned long type) { return getauxval(type); }
EOF

# $1 folder, $2 compiler, $3 gcc's library folder, $4 musl's library folder, $5 musl's include folder
link() {
  [[ -f "$1/libstdc++.so.6" ]] && return
  local gccLib
  gccLib=$(dirname "$(ls "$3"/*/libstdc++.a | sort -V | tail -1)")
  "$2" -O2 -fPIC -nostdinc -isystem "$5" -isystem "$gccLib/include" -c "$out/glibc-only.c" -o "$1/glibc-only.o"
  "$2" -shared -nostdlib -o "$1/libstdc++.so.6" -Wl,-soname,libstdc++.so.6 "$4/crti.o" "$gccLib/crtbeginS.o" "$1/glibc-only.o" \
    -Wl,--whole-archive "$gccLib/libstdc++.a" -Wl,--no-whole-archive "$gccLib/libgcc_eh.a" "$gccLib/libgcc.a" \
    -L"$4" -lc "$gccLib/crtendS.o" "$4/crtn.o"
  echo "release-tools.sh: wrote $1/libstdc++.so.6"
}
link "$out/x64" gcc /usr/lib/gcc/x86_64-linux-gnu /usr/lib/x86_64-linux-musl /usr/include/x86_64-linux-musl
link "$out/arm64" aarch64-linux-gnu-gcc /usr/lib/gcc-cross/aarch64-linux-gnu /usr/lib/aarch64-linux-musl /usr/include/aarch64-linux-musl
