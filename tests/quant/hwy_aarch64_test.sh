#!/usr/bin/env bash
# The ARM path of the packed int8 dots (packed_int8_hwy.cc) on an x86 host.
#
# Mode "compile": cross-compiles packed_int8_hwy.cc for aarch64 as the build does
# (dynamic dispatch over NEON and the SVE targets) and checks that the object holds the
# NEON target's code: N_NEON::PackedDots with NEON widening multiply-accumulates
# (smlal/smlal2, ReorderWidenMulAccumulate's lowering) in the N_NEON functions.
# Mode "run": builds packed_int8_hwy_cross_check.cc statically for one Highway target
# at a time (HWY_COMPILE_ONLY_STATIC, so no aarch64 libhwy is needed) and runs it under
# qemu-aarch64: NEON, SVE at 128/512/2048-bit vectors, SVE2 at 128 and 384 bits, each
# bit-exact against PackedInt8DotsPortable.
#
# The host's Highway headers serve the cross compiler: they are architecture-
# independent (hwy/ only, through a private include directory, so no other host header
# shadows the aarch64 ones); nothing needs to be generated.
# Usage: hwy_aarch64_test.sh compile|run SOURCE_DIR HWY_INCLUDE_DIR CXX OBJDUMP QEMU
# Exits 77 (ctest SKIP_RETURN_CODE) when a tool is missing (Debian packages
# g++-aarch64-linux-gnu and, for "run", qemu-user; scripts/install-deps.sh).
set -euo pipefail
mode=$1 src_dir=$2 hwy_include=$3 cxx=$4 objdump=$5 qemu=$6
for tool in "$cxx" "$objdump"; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (g++-aarch64-linux-gnu)"; exit 77; }
done
if [ "$mode" = run ] && ! command -v "$qemu" >/dev/null; then
  echo "SKIP: $qemu not installed (qemu-user)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/include"
ln -s "$hwy_include/hwy" "$work/include/hwy"
kernels=$src_dir/src/runtime/kernels/quantized
flags=(-std=c++20 -O2 -Wall -Wextra -Werror -I"$src_dir/src" -I"$src_dir/include"
       -isystem "$work/include")

if [ "$mode" = compile ]; then
  cmd=("$cxx" "${flags[@]}" -c "$kernels/packed_int8_hwy.cc" -o "$work/packed_int8_hwy.o")
  echo "${cmd[*]}"
  "${cmd[@]}"
  "$objdump" -d -C --no-show-raw-insn "$work/packed_int8_hwy.o" >"$work/disasm.txt"
  grep -q "file format elf64-littleaarch64" "$work/disasm.txt" || { echo "FAIL: not aarch64"; exit 1; }
  # The instructions of the N_NEON functions only (a function ends at a blank line).
  awk '/^[0-9a-f]+ <.*N_NEON::/ {on = 1} /^$/ {on = 0} on' "$work/disasm.txt" >"$work/neon.txt"
  grep -q "N_NEON::PackedDots" "$work/neon.txt" || { echo "FAIL: no N_NEON::PackedDots"; exit 1; }
  smlal=$(grep -cE $'\t(smlal|smlal2)\t' "$work/neon.txt" || true)
  echo "N_NEON code: $(wc -l <"$work/neon.txt") lines, $smlal smlal/smlal2"
  targets=$(grep -oE '^[0-9a-f]+ <liteq::runtime::quantized::N_[A-Z0-9_]+::PackedDots' \
    "$work/disasm.txt" | sed -E 's/.*::(N_[A-Z0-9_]+)::.*/\1/' | sort | tr '\n' ' ')
  echo "targets compiled: $targets"
  [ "$smlal" -ge 8 ] || { echo "FAIL: no NEON widening multiply-accumulates (smlal/smlal2)"; exit 1; }
  echo "PASS"
  exit 0
fi

# "run": the target-independent sources once, then the kernel and the check per target.
common=()
for f in "$kernels/packed_int8.cc" "$kernels/packed_int8_avx2.cc" "$kernels/packed_int8_avx512.cc" "$kernels/int8_dot.cc" \
         "$kernels/int8_dot_avx2.cc" "$src_dir/src/common/file_pages.cc"; do
  obj=$work/$(basename "$f" .cc).o
  "$cxx" "${flags[@]}" -c "$f" -o "$obj"
  common+=("$obj")
done
check() {  # name, -march flags, then the SVE vector lengths in bytes to run at (0: NEON)
  local name=$1 march=$2
  shift 2
  "$cxx" "${flags[@]}" -DHWY_COMPILE_ONLY_STATIC "$march" \
    "$src_dir/tests/quant/packed_int8_hwy_cross_check.cc" "$kernels/packed_int8_hwy.cc" \
    "${common[@]}" -static -o "$work/check_$name"
  for vl in "$@"; do
    local cpu=max
    [ "$vl" -gt 0 ] && cpu=max,sve-default-vector-length=$vl
    echo -n "$name, qemu -cpu $cpu: "
    "$qemu" -cpu "$cpu" "$work/check_$name"
  done
}
check neon -march=armv8-a 0
check sve -march=armv8.2-a+sve 16 64 256
check sve2 -march=armv8.5-a+sve2 16 48
echo "PASS"
