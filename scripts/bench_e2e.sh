#!/usr/bin/env bash
# End to end, side by side: one F16 Llama-3.2-1B-shaped random model (scripts/make_bench_model.sh)
# made into llama.cpp's TQ2_0 and TQ1_0 (its own llama-quantize) and into our Sherry file
# (sherry-quantize), all three with the same LM head and token embedding types; then llama.cpp's
# llama-bench and our sherry-bench, run one after the other for every thread count and round, on
# the same tests. One JSON line per row goes to the results file (the tool's own fields plus
# tool, file, head and embedding types, CPU, load average before and after the run);
# scripts/make_benchmarks_report.sh turns them into docs/benchmarks.md's side-by-side table and
# plot. A summary table is printed at the end.
#
#   scripts/bench_e2e.sh [--threads 1,2] [--prompts 64,512] [--gens 32,128] [--reps 3]
#                        [--rounds 2] [--head q8_0] [--embd q8_0] [--layers 16]
#                        [--out docs/benchmarks/e2e_<cpu>.jsonl] [--max-load 0.3] [--quick]
#
# --head / --embd: the LM head's and the token embedding's type in all three files (any type both
#   quantizers write: q8_0, f16, and the K types when sherry-quantize has them).
# --max-load: before each run, wait (up to 10 minutes) for the 1-minute load average to fall
#   below this; the run goes ahead anyway after that, and its row says the load it started at.
# --quick: a 2-layer model, short tests, one round (a smoke test of the script, not figures).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

threads=1,2
prompts=64,512
gens=32,128
reps=3
rounds=2
head=q8_0
embd=q8_0
layers=16
out=""
max_load=0.3
quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --prompts) prompts=$2; shift 2 ;;
    --gens) gens=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --head) head=$2; shift 2 ;;
    --embd) embd=$2; shift 2 ;;
    --layers) layers=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --max-load) max_load=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "bench_e2e.sh: unknown argument '$1' (expected --threads, --prompts, --gens, --reps, --rounds, --head, --embd, --layers, --out, --max-load, --quick)" >&2; exit 2 ;;
  esac
done
say() { echo "bench_e2e.sh: $*" >&2; }
if [ "$quick" = 1 ]; then
  layers=2 prompts=16 gens=8 reps=2 rounds=1
fi
for tool in sherry-bench sherry-quantize sherry-make-model; do
  [ -x build/bin/$tool ] || { say "build/bin/$tool missing: run scripts/setup.sh"; exit 1; }
done
command -v python3 >/dev/null 2>&1 || { say "python3 not found (run scripts/setup.sh)"; exit 1; }

scripts/fetch_llama_cpp.sh
llama_bin=.cache/llama.cpp/build/bin
llama_commit=$(git -C .cache/llama.cpp/src rev-parse --short=12 HEAD)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/ *$//')
[ -n "$out" ] || out="docs/benchmarks/e2e_$(echo "$cpu" | tr -c 'A-Za-z0-9\n' '_' | tr -s '_' | sed 's/_$//').jsonl"
[ "$quick" = 1 ] && out="${out%.jsonl}_quick.jsonl"

# ---- the three files, from one F16 model ----
models=.cache/bench-models
mkdir -p "$models"
# The 16-layer file is scripts/make_bench_model.sh's (written once, shared).
f16="$models/llama3.2-1b-shape-f16.gguf"
[ "$layers" = 16 ] || f16="$models/llama3.2-1b-shape-l$layers-f16.gguf"
if [ ! -f "$f16" ]; then
  say "writing $f16"
  build/bin/sherry-make-model "$f16.tmp" --hidden 2048 --layers "$layers" --heads 32 --kv-heads 8 \
    --ffn 8192 --vocab 128256 --ctx 131072 --type f16 --rope-base 500000 --seed 1 >&2
  mv "$f16.tmp" "$f16"
fi
stem="$models/llama3.2-1b-shape-l$layers-head-$head-embd-$embd"
sherry_file="$stem-sherry.gguf"
if [ ! -f "$sherry_file" ]; then
  say "quantizing $sherry_file (sherry-quantize)"
  build/bin/sherry-quantize "$f16" "$sherry_file.tmp" --type sherry --output-type "$head" \
    --embd-type "$embd" >&2
  mv "$sherry_file.tmp" "$sherry_file"
fi
declare -A llama_files
for type in TQ2_0 TQ1_0; do
  file="$stem-$type.gguf"
  if [ ! -f "$file" ]; then
    say "quantizing $file (llama.cpp's llama-quantize)"
    "$llama_bin/llama-quantize" --output-tensor-type "$head" --token-embedding-type "$embd" \
      "$f16" "$file.tmp" "$type" >"$file.log" 2>&1 ||
      { say "llama-quantize failed (see $file.log):"; tail -5 "$file.log" >&2; exit 1; }
    mv "$file.tmp" "$file"
  fi
  llama_files[$type]=$file
done

source "$root/scripts/lib/quiet.sh"

# Runs one tool on one file; appends its JSON lines with our fields to $out.tmp.
tmp="$out.tmp"
: >"$tmp"
run_one() {  # run_one TOOL TYPE FILE THREADS ROUND
  local tool=$1 type=$2 file=$3 t=$4 round=$5
  wait_quiet "$max_load" 600 bench_e2e.sh
  local before
  before=$(loadavg)
  local rows
  if [ "$tool" = llama-bench ]; then
    rows=$("$llama_bin/llama-bench" -m "$file" -p "$prompts" -n "$gens" -t "$t" -r "$reps" -o jsonl 2>/dev/null)
  else
    rows=$(build/bin/sherry-bench -m "$file" -p "$prompts" -n "$gens" -t "$t" -r "$reps" -o jsonl)
  fi
  local after
  after=$(loadavg)
  ROWS="$rows" TOOL=$tool TYPE=$type FILE=$file HEAD=$head EMBD=$embd CPU="$cpu" ROUND=$round \
    BEFORE=$before AFTER=$after LLAMA_COMMIT=$llama_commit python3 - >>"$tmp" <<'EOF'
import json, os
for line in os.environ["ROWS"].splitlines():
    line = line.strip()
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    row.update({
        "kind": "side_by_side", "tool": os.environ["TOOL"], "file_type": os.environ["TYPE"],
        "file": os.path.basename(os.environ["FILE"]), "file_bytes": os.path.getsize(os.environ["FILE"]),
        "head_type": os.environ["HEAD"], "embd_type": os.environ["EMBD"], "cpu": os.environ["CPU"],
        "round": int(os.environ["ROUND"]), "loadavg_before": float(os.environ["BEFORE"]),
        "loadavg_after": float(os.environ["AFTER"]), "llama_cpp_commit": os.environ["LLAMA_COMMIT"],
    })
    print(json.dumps(row))
EOF
  say "round $round, $t thread(s): $tool $type done (load $before -> $after)"
}

say "cpu: $cpu; llama.cpp $llama_commit; sherry $(git rev-parse --short=12 HEAD); results -> $out"
IFS=, read -r -a thread_list <<<"$threads"
for round in $(seq 1 "$rounds"); do
  for t in "${thread_list[@]}"; do
    # Alternate who goes first between rounds: drift over a run favours neither.
    if [ $((round % 2)) = 1 ]; then
      run_one sherry-bench Sherry "$sherry_file" "$t" "$round"
      run_one llama-bench TQ2_0 "${llama_files[TQ2_0]}" "$t" "$round"
      run_one llama-bench TQ1_0 "${llama_files[TQ1_0]}" "$t" "$round"
    else
      run_one llama-bench TQ1_0 "${llama_files[TQ1_0]}" "$t" "$round"
      run_one llama-bench TQ2_0 "${llama_files[TQ2_0]}" "$t" "$round"
      run_one sherry-bench Sherry "$sherry_file" "$t" "$round"
    fi
  done
done
mkdir -p "$(dirname "$out")"
mv "$tmp" "$out"

# ---- summary: t/s per file, test and threads (range over rounds), ratios against TQ2_0/TQ1_0 ----
OUT=$out python3 - <<'EOF'
import json, os
rows = [json.loads(l) for l in open(os.environ["OUT"]) if l.strip()]
def test(r): return f"pp{r['n_prompt']}" if r["n_prompt"] > 0 else f"tg{r['n_gen']}"
table = {}
for r in rows:
    table.setdefault((test(r), r["n_threads"]), {}).setdefault(r["file_type"], []).append(r["avg_ts"])
types = ["Sherry", "TQ2_0", "TQ1_0"]
sizes = {r["file_type"]: r["file_bytes"] for r in rows}
print("| test | threads | " + " | ".join(f"{t} t/s" for t in types) + " | vs TQ2_0 | vs TQ1_0 |")
print("|---|---|" + "---|" * len(types) + "---|---|")
def rng(v): return f"{min(v):.1f}" if max(v) - min(v) < 0.05 * max(v) else f"{min(v):.1f}–{max(v):.1f}"
for (name, t), by in sorted(table.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    cells = [rng(by[k]) if k in by else "" for k in types]
    def ratio(k):
        if k not in by or "Sherry" not in by:
            return ""
        lo, hi = min(by["Sherry"]) / max(by[k]), max(by["Sherry"]) / min(by[k])
        return f"{lo:.2f}×" if hi - lo < 0.05 * hi else f"{lo:.2f}–{hi:.2f}×"
    print(f"| {name} | {t} | " + " | ".join(cells) + f" | {ratio('TQ2_0')} | {ratio('TQ1_0')} |")
print()
print("file sizes: " + ", ".join(f"{k} {sizes[k] / 2**20:.1f} MiB" for k in types if k in sizes))
print("load average before runs: " + ", ".join(sorted({f'{r["loadavg_before"]:.2f}' for r in rows})))
EOF
say "wrote $out"
