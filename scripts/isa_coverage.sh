#!/usr/bin/env bash
# The ISA coverage line of the test suite: which kernel paths (jit/paths.h), float paths and int8
# head GEMM paths (runtime/int8_gemm.h) ran,
# read from the SHERRY_PATH_LOG file the tests appended to (jit/path_log.h), against what this
# CPU allows (sherry-asm --list-paths). Fails when a path this CPU runs did not run (a test gap),
# or when a path named in SHERRY_REQUIRE_ISA (comma-separated, e.g. avx2,avx512vbmi,neon) did not.
# A path the CPU lacks is not a failure unless required: the line names the missing features.
#
#   scripts/isa_coverage.sh PATH_LOG SHERRY_ASM_BINARY
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: isa_coverage.sh PATH_LOG SHERRY_ASM_BINARY" >&2; exit 2; }
log=$1
asm=$2
[ -f "$log" ] || { echo "isa_coverage: $log: no path log (was SHERRY_PATH_LOG set for the tests?)" >&2; exit 1; }
[ -x "$asm" ] || { echo "isa_coverage: $asm: not built" >&2; exit 1; }

paths=$("$asm" --list-paths)  # "<isa> <arch> runs-here|lacks <features>|other-arch" per path
ran() { grep -qx "$1 $2" "$log"; }
path_line() { awk -v i="$1" '$1 == i { found = 1; $1 = ""; print substr($0, 2) } END { exit !found }' <<<"$paths"; }
kernels_ran=() lacking=() gaps=() other_arch_ran=() other_arch_missing=()
while read -r isa arch state features; do
  if ran kernel "$isa"; then
    if [ "$state" = other-arch ]; then other_arch_ran+=("$isa"); else kernels_ran+=("$isa"); fi
  else
    case "$state" in
      runs-here) gaps+=("$isa") ;;
      lacks) lacking+=("$isa (lacks $features)") ;;
      other-arch) other_arch_missing+=("$isa ($arch)") ;;
    esac
  fi
done <<<"$paths"
floats_ran=$(awk '$1 == "float" { print $2 }' "$log" | sort -u | tr '\n' ' ')
int8_ran=$(awk '$1 == "int8" { print $2 }' "$log" | sort -u | tr '\n' ' ')

join() { local IFS=' '; echo "${*:-none}"; }
line="ISA coverage: kernel paths ran: $(join "${kernels_ran[@]}")"
[ ${#other_arch_ran[@]} -gt 0 ] && line+="; under qemu (aarch64): $(join "${other_arch_ran[@]}")"
line+="; not run for lack of CPU features: $(join "${lacking[@]}")"
[ ${#other_arch_missing[@]} -gt 0 ] && line+="; other architecture, not run: $(join "${other_arch_missing[@]}")"
line+="; float paths ran: ${floats_ran:-none}"
line+="; int8 head paths ran: ${int8_ran:-none}"
echo "$line"

status=0
if [ ${#gaps[@]} -gt 0 ]; then
  echo "isa_coverage: FAILED: this CPU runs $(join "${gaps[@]}") but no test ran it" >&2
  status=1
fi
IFS=',' read -r -a required <<<"${SHERRY_REQUIRE_ISA:-}"
for isa in "${required[@]}"; do
  [ -n "$isa" ] || continue
  if ! state=$(path_line "$isa"); then
    echo "isa_coverage: FAILED: SHERRY_REQUIRE_ISA names '$isa', not an ISA path (expected one of:" \
      "$(awk '{ printf "%s ", $1 }' <<<"$paths"))" >&2
    status=1
  elif ! ran kernel "$isa"; then
    echo "isa_coverage: FAILED: SHERRY_REQUIRE_ISA names $isa, which did not run ($state)" >&2
    status=1
  fi
done
exit $status
