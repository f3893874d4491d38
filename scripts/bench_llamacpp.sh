#!/usr/bin/env bash
# llama.cpp side by side: GEMV/GEMM of TQ1_0, TQ2_0 and Q4_0 (bench/llamacpp/ggml_gemv_bench.cpp)
# and end-to-end llama-bench decode/prefill tokens/s on a Llama-3.2-1B-shaped random model in
# TQ1_0 and TQ2_0. Results go to docs/benchmarks/*.jsonl (JSON lines, the fields of bench/kernels);
# scripts/make_benchmarks_report.sh turns them into docs/benchmarks.md.
#
#   scripts/bench_llamacpp.sh [--quick] [--kernels-only | --e2e-only] [--threads 1,2]
#                             [--model-f16 FILE] [--writer auto|sherry|llama] [--out-dir DIR]
#                             [--tag NAME] [--no-llama-bench] [--max-load 0.3]
#
# --max-load: before the kernel run and each end-to-end run, wait (up to 10 minutes) for the
#   1-minute load average to fall below this (0: do not wait); rows record the load.
# --tag NAME: write llamacpp_*_NAME.jsonl beside the main files (e.g. a re-run of --threads 2 on a
#   quieter machine; the report prefers undisturbed rows, then later files).
# End to end runs each test twice: llama.cpp's llama-bench (wall clock, as everyone quotes it;
# skipped with --no-llama-bench) and bench/llamacpp/llama_e2e_bench.cpp (same calls, repetitions
# timed undisturbed or, at 1 thread, by CPU time). Rows say which in "tool".
# --quick: one shape, N = 1 and 8, short timings, a 2-layer model (a smoke test, minutes).
# --model-f16: the float GGUF to quantize. Otherwise it is written with random weights by
#   sherry-make-model (--writer sherry; auto picks it when built in build*/bin) or by llama.cpp's own
#   library (--writer llama: bench/llamacpp/make_random_llama.cpp, F32). Either way llama.cpp's
#   llama-quantize makes the TQ1_0 and TQ2_0 files, so a file llama.cpp cannot read fails here.
# The random model is cached in .cache/llama.cpp/models/ (git-ignored).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source "$root/scripts/lib/quiet.sh"

quick=0
do_kernels=1
do_e2e=1
threads=1,2
model_f16=""
writer=auto
tag=""
llama_bench=1
max_load=0.3
out_dir="$root/docs/benchmarks"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --kernels-only) do_e2e=0; shift ;;
    --e2e-only) do_kernels=0; shift ;;
    --threads) threads=$2; shift 2 ;;
    --model-f16) model_f16=$2; shift 2 ;;
    --writer) writer=$2; shift 2
      case "$writer" in auto|sherry|llama) ;; *) echo "bench_llamacpp.sh: --writer: expected auto, sherry or llama, found '$writer'" >&2; exit 2 ;; esac ;;
    --out-dir) out_dir=$2; shift 2 ;;
    --tag) tag=_$2; shift 2 ;;
    --no-llama-bench) llama_bench=0; shift ;;
    --max-load) max_load=$2; shift 2 ;;
    *) echo "bench_llamacpp.sh: unknown argument '$1' (expected --quick, --kernels-only, --e2e-only, --threads LIST, --model-f16 FILE, --writer auto|sherry|llama, --out-dir DIR, --tag NAME, --no-llama-bench, --max-load L)" >&2; exit 2 ;;
  esac
done
say() { echo "bench_llamacpp.sh: $*" >&2; }
command -v python3 >/dev/null 2>&1 || { say "python3 not found (apt-get install python3)"; exit 1; }

scripts/fetch_llama_cpp.sh
cache="$root/.cache/llama.cpp"
bin="$cache/build/bin"
commit=$(git -C "$cache/src" rev-parse --short=12 HEAD)
sherry_commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
mkdir -p "$out_dir"
say "llama.cpp $commit, sherry $sherry_commit, load average $(cut -d' ' -f1-3 /proc/loadavg) (other processes slow every figure)"

if [ "$do_kernels" = 1 ]; then
  kernel_out="$out_dir/llamacpp_kernels$tag.jsonl"
  args=(--threads "$threads" --commit "$commit" --sherry-commit "$sherry_commit")
  [ "$quick" = 1 ] && args+=(--shapes 2048x2048 --n 1,8 --min-time-s 0.05 --min-samples 3 --cold-mb 64)
  [ "$quick" = 1 ] && { kernel_out="$out_dir/llamacpp_kernels_quick.jsonl"; max_load=0; }
  wait_quiet "$max_load" 600 bench_llamacpp.sh
  say "kernels -> $kernel_out"
  start=$(date +%s)
  "$cache/ggml_gemv_bench" "${args[@]}" >"$kernel_out.tmp"
  mv "$kernel_out.tmp" "$kernel_out"
  say "kernels done in $(( $(date +%s) - start )) s ($(grep -c '"bench":"kernel"' "$kernel_out") rows)"
fi

[ "$do_e2e" = 1 ] || exit 0

# ---- the Llama-3.2-1B-shaped random model, quantized by llama.cpp's own llama-quantize ----
layers=16
[ "$quick" = 1 ] && layers=2
models="$cache/models"
mkdir -p "$models"
vocab="$root/.cache/llama-vocab/ggml-vocab-llama-bpe.gguf"
shape=(--hidden 2048 --layers "$layers" --heads 32 --kv-heads 8 --ffn 8192)
if [ -z "$model_f16" ]; then
  make_model=""
  # build/ first (scripts/setup.sh), then any other build folder whose binary runs on this machine.
  for candidate in "$root"/build/bin/sherry-make-model "$root"/build-*/bin/sherry-make-model; do
    [ -x "$candidate" ] && "$candidate" --help >/dev/null 2>&1 && { make_model=$candidate; break; }
  done
  [ "$writer" = llama ] && make_model=""
  if [ "$writer" = sherry ] && [ -z "$make_model" ]; then
    say "--writer sherry: sherry-make-model is not built (cmake --build build --target sherry-make-model)"
    exit 1
  fi
  if [ -n "$make_model" ]; then
    model_f16="$models/llama1b-shaped-l$layers-sherry-f16.gguf"
    if [ ! -f "$model_f16" ]; then
      say "writing $model_f16 with $make_model"
      "$make_model" "$model_f16.tmp" "${shape[@]}" --vocab 128256 --ctx 4096 --type f16 --seed 1 \
        >"$models/sherry-make-model.log" 2>&1 ||
        { say "sherry-make-model failed (see $models/sherry-make-model.log):"; tail -15 "$models/sherry-make-model.log" >&2; exit 1; }
      mv "$model_f16.tmp" "$model_f16"
    fi
  else
    scripts/fetch_npm_assets.sh --quiet
    model_f16="$models/llama1b-shaped-l$layers-llama-f32.gguf"
    if [ ! -f "$model_f16" ]; then
      say "writing $model_f16 with llama.cpp's library (make_random_llama)"
      "$cache/make_random_llama" "${shape[@]}" --vocab "$vocab" --seed 1 --out "$model_f16.tmp" \
        >"$models/make_random_llama.log" 2>&1 ||
        { say "make_random_llama failed (see $models/make_random_llama.log):"; tail -15 "$models/make_random_llama.log" >&2; exit 1; }
      mv "$model_f16.tmp" "$model_f16"
    fi
  fi
fi
[ -f "$model_f16" ] || { say "$model_f16: no such file"; exit 1; }

e2e_out="$out_dir/llamacpp_e2e$tag.jsonl"
[ "$quick" = 1 ] && e2e_out="$out_dir/llamacpp_e2e_quick.jsonl"
: >"$e2e_out.tmp"
stem=$(basename "$model_f16" .gguf)
stem=${stem%-f16}
stem=${stem%-f32}
for type in TQ1_0 TQ2_0; do
  model="$models/$stem-$(echo "$type" | tr 'A-Z' 'a-z').gguf"
  if [ ! -f "$model" ] || [ "$model_f16" -nt "$model" ]; then
    say "llama-quantize $type -> $model"
    "$bin/llama-quantize" "$model_f16" "$model.tmp" "$type" >"$model.log" 2>&1 ||
      { say "llama-quantize rejected $model_f16 (see $model.log):"; tail -15 "$model.log" >&2; exit 1; }
    mv "$model.tmp" "$model"
  fi
  prompt=128 gen=32 reps=5
  [ "$quick" = 1 ] && { prompt=16; gen=8; reps=1; }
  # The same tests through llama.cpp's library with each repetition's CPU time and context
  # switches (bench/llamacpp/llama_e2e_bench.cpp): figures that hold on a busy machine at 1 thread.
  wait_quiet "$max_load" 600 bench_llamacpp.sh
  say "llama_e2e_bench $type: pp$prompt tg$gen threads $threads, $reps repetitions"
  "$cache/llama_e2e_bench" --model "$model" --format "$type" --threads "$threads" --prompt "$prompt" \
    --gen "$gen" --reps "$reps" --model-name "llama-3.2-1b-shaped-l$layers" --commit "$commit" \
    --sherry-commit "$sherry_commit" >"$models/e2e-$type.jsonl" ||
    { say "llama_e2e_bench failed on $model"; exit 1; }
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    row = json.loads(line)
    row["source_model"] = sys.argv[2]
    print(json.dumps(row))' "$models/e2e-$type.jsonl" "$(basename "$model_f16")" >>"$e2e_out.tmp"
  [ "$llama_bench" = 1 ] || continue
  wait_quiet "$max_load" 600 bench_llamacpp.sh
  say "llama-bench $type: pp$prompt tg$gen threads $threads, $reps repetitions"
  "$bin/llama-bench" -m "$model" -t "$threads" -p "$prompt" -n "$gen" -r "$reps" -o jsonl \
    >"$models/bench-$type.jsonl" 2>"$models/bench-$type.log" ||
    { say "llama-bench failed on $model (see $models/bench-$type.log):"; tail -15 "$models/bench-$type.log" >&2; exit 1; }
  python3 - "$models/bench-$type.jsonl" "$type" "$commit" "$sherry_commit" "$layers" "$(basename "$model_f16")" >>"$e2e_out.tmp" <<'PY'
import datetime, json, os, sys
path, qtype, commit, sherry_commit, layers, source_model = sys.argv[1:]
cpu = open("/proc/cpuinfo").read().split("model name")[1].split(":", 1)[1].split("\n", 1)[0].strip()
load = float(open("/proc/loadavg").read().split()[0])
# llama-bench times wall clock only: with more runnable tasks than cores its figures include time
# other processes held the cores, so such rows are marked like the harness's disturbed rows.
quiet = load <= os.cpu_count()
date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
for line in open(path):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    phase = "prefill" if r["n_prompt"] > 0 else "decode"
    samples = sorted(r.get("samples_ts") or [r["avg_ts"]])
    median = samples[len(samples) // 2] if len(samples) % 2 else 0.5 * (samples[len(samples) // 2 - 1] + samples[len(samples) // 2])
    print(json.dumps({
        "bench": "e2e", "impl": "llama.cpp", "tool": "llama-bench", "model": f"llama-3.2-1b-shaped-l{layers}",
        "format": qtype, "phase": phase, "tokens": r["n_prompt"] or r["n_gen"],
        "threads": r["n_threads"], "tok_s": round(median, 3), "tok_s_best": round(samples[-1], 3), "tok_s_mean": round(r["avg_ts"], 3),
        "tok_s_stddev": round(r["stddev_ts"], 3), "repetitions": len(samples), "stat": "median_wall", "quiet": quiet,
        "model_bytes": r["model_size"], "model_params": r["model_n_params"], "loadavg": load, "date": date, "source_model": source_model,
        "cpu": cpu, "commit": commit, "llama_build_commit": r.get("build_commit", ""),
        "sherry_commit": sherry_commit}))
PY
done
mv "$e2e_out.tmp" "$e2e_out"
say "end-to-end -> $e2e_out"
cat "$e2e_out" >&2
