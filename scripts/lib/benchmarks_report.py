#!/usr/bin/env python3
"""Builds docs/benchmarks.md's generated regions (and gnuplot inputs) from JSON-lines results.

Called by scripts/make_benchmarks_report.sh. Standard library only.

Rows understood (one JSON object per line; other "bench" values are ignored):
  {"bench":"kernel","impl":...,"kernel":...,"m","k","n","threads","regime":"hot|cold","us",
   "weights_per_cycle_per_core","gbps","cpu","commit", optional "family","role","isa","date",...}
  {"bench":"e2e","impl":...,"format":...,"model":...,"phase":"decode|prefill","tokens","threads",
   "tok_s","cpu","commit",...}
  {"bench":"clock","impl":...,"core_ghz":...}

bench/kernels' spelling is accepted too: "kind" for "bench", "mode" for "regime", "packed_gbps" for
"gbps", "ghz" for "core_ghz", no "impl" meaning "sherry"; its {"kind":"bandwidth"} rows (measured DRAM
read GB/s) go to the provenance table.

A kernel's family is its "family" field, else its name cut before "_m<M>_k<K>" (kernel names carry
the shape), with our "lutgemv"/"lutgemm" folded into "lut" (one family across N). Its role is its
"role" field, else "baseline" for llama.cpp rows, for the scalar reference and for families that
name the 2-bit I2_S-style or 1.67-bit TL2-style kernels, else "ours". Ratios are speed-ups,
baseline time / ours time (2.0× means ours is twice as fast), from each side's fastest call
("us_min" where a row has it, else "us": bench/kernels reports its best call as "us").
"""

import argparse
import glob
import json
import math
import os
import re
import sys

REQUIRED_KERNEL = ("impl", "kernel", "m", "k", "n", "threads", "regime", "us")
REQUIRED_E2E = ("impl", "format", "phase", "threads", "tok_s")
BASELINE_PATTERN = re.compile(r"(^|[_-])(i2_?s|tl2|reference)([_@-]|$)", re.IGNORECASE)
ALIASES = (("kind", "bench"), ("mode", "regime"), ("packed_gbps", "gbps"), ("ghz", "core_ghz"))
# Targets as (baseline family, n == 1?, ratio, regime or None for both): issue 6's against
# llama.cpp (GEMV = N 1, prefill GEMM = N > 1) and issue 11's cold GEMV against the I2_S-style
# ("i2s") and TL2-style ("tl2") families bench/baselines generates (byte ratio 1.45×).
TARGETS = [("ggml_tq2_0", True, 2.0, None), ("ggml_tq1_0", True, 3.0, None), ("ggml_tq2_0", False, 2.0, None),
           ("tl2", True, 1.25, "cold"), ("i2s", True, 1.35, "cold")]
# Issue 11's cold-GEMV floor: the weights at 1.375 bits each read at 0.85 × the bandwidth measured
# in the same run.
FLOOR_BITS_PER_WEIGHT = 1.375
FLOOR_BANDWIDTH_SHARE = 0.85


def warn(message):
    print(f"benchmarks_report: {message}", file=sys.stderr)


def load_rows(results):
    rows = []
    paths = sorted(p for p in glob.glob(os.path.join(results, "*.jsonl")) if not p.endswith("_quick.jsonl"))
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    warn(f"{path}:{number}: expected a JSON object, found '{line[:60]}' ({error.msg}); skipped")
                    continue
                if not isinstance(row, dict):
                    warn(f"{path}:{number}: expected a JSON object, found {type(row).__name__}; skipped")
                    continue
                for alias, name in ALIASES:
                    if alias in row and name not in row:
                        row[name] = row[alias]
                row.setdefault("impl", "sherry")
                bench = row.get("bench")
                required = REQUIRED_KERNEL if bench == "kernel" else REQUIRED_E2E if bench == "e2e" else ()
                missing = [field for field in required if field not in row]
                if missing:
                    warn(f"{path}:{number}: {bench} row without {', '.join(missing)}; skipped")
                    continue
                row["_source"] = os.path.basename(path)
                rows.append(row)
    return rows, paths


def isa_tag(fam):
    """The ISA a family was capped at ("lut@avx2" -> "avx2"), "" for the machine's best path."""
    return fam.split("@", 1)[1] if "@" in fam else ""


def untagged(fam):
    return fam.split("@", 1)[0]


def typical_us(row):
    """The median call where the row has it (bench/kernels' us_median), else its us."""
    value = row.get("us_median")
    return value if isinstance(value, (int, float)) and value > 0 else row["us"]


def start_load(row):
    """The load average when the row's run started (before its own threads), else when written."""
    for field in ("loadavg_start", "loadavg_before", "loadavg"):
        if isinstance(row.get(field), (int, float)):
            return row[field]
    return None


def family(row):
    if row.get("family"):
        return row["family"]
    match = re.match(r"(.*?)_m\d+_k\d+", row["kernel"])
    name = match.group(1) if match else row["kernel"]
    return re.sub(r"^lutgem[mv]", "lut", name)


def role(row):
    if row.get("role") in ("ours", "baseline"):
        return row["role"]
    if row["impl"] == "llama.cpp" or BASELINE_PATTERN.search(family(row)):
        return "baseline"
    return "ours"


def fmt(value, digits=2):
    if value is None:
        return "–"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.1f}"
    return f"{value:.{digits}f}"


def ratio_text(ratio, goal=None):
    if ratio is None:
        return "–"
    text = f"{ratio:.2f}×"
    if goal is not None:
        text += " ✓" if ratio >= goal else " ✗"
    return text


def geomean(values):
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def disturbed(row):
    """Rows the llama.cpp harness could not time undisturbed (other processes had the cores)."""
    return row.get("quiet") is False


def usable(row):
    """Fit for the target summary: undisturbed, or timed by the thread's CPU time (1 thread)."""
    return not disturbed(row) or row.get("stat") == "median_cpu_time"


def mark(row):
    return " †" if disturbed(row) else ""


DISTURBED_NOTE = ("† timed while other processes had the cores (`\"quiet\":false`); the row's `stat` says what "
                  "is shown instead: `median_cpu_time` the timing thread's CPU time (1 thread, close to an idle "
                  "machine's figure), `min_wall` the fastest call and `median_wall` llama-bench's wall clock "
                  "(both slowed by the load: upper bounds on the time).")


def best_us(row):
    """The fastest call: what both producers can report, so ratios compare like with like."""
    value = row.get("us_min")
    return value if isinstance(value, (int, float)) and value > 0 else row["us"]


def kernel_index(rows):
    """(family, m, k, n, threads, regime) -> row. A later row replaces an earlier one unless the
    earlier one was timed undisturbed and the later one was not (so a re-run of some rows on a
    quieter machine, in a file that sorts later, improves the tables without losing anything)."""
    index = {}
    for row in rows:
        if row.get("bench") == "kernel":
            key = (family(row), row["m"], row["k"], row["n"], row["threads"], row["regime"])
            if key not in index or not disturbed(row) or disturbed(index[key]):
                index[key] = row
    return index


def provenance_section(rows, paths):
    lines = ["| impl | CPU | core clock | ISA path | commit | sherry commit | date (UTC) | load avg at start | rows | file |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for row in rows:
        if row.get("bench") in ("kernel", "e2e"):
            groups.setdefault((row["impl"], row["_source"]), []).append(row)
    clocks = {row["impl"]: row for row in rows if row.get("bench") == "clock"}
    for (impl, source), group in sorted(groups.items()):
        first = group[0]
        dates = sorted(r["date"] for r in group if r.get("date"))
        date = dates[0] if dates else "–"
        if len(dates) > 1 and dates[-1][:10] != dates[0][:10]:
            date = f"{dates[0]} … {dates[-1]}"
        ghz = first.get("core_ghz") or clocks.get(impl, {}).get("core_ghz")
        loads = [start_load(r) for r in group if start_load(r) is not None]
        load = f"{min(loads):.2f}–{max(loads):.2f}" if loads else "–"
        lines.append(f"| {impl} | {first.get('cpu', '–')} | {f'{ghz:.2f} GHz' if ghz else '–'} | "
                     f"{first.get('isa', '–')} | {first.get('commit', '–')} | {first.get('sherry_commit', '–')} | "
                     f"{date} | {load} | {len(group)} | `{source}` |")
    if len(lines) == 2:
        lines.append("| – | no results yet | | | | | | | | |")
    bandwidth = {row["threads"]: row["read_gbps"] for row in rows
                 if row.get("bench") == "bandwidth" and "threads" in row and "read_gbps" in row}
    if bandwidth:
        lines.append("")
        lines.append("Measured DRAM read bandwidth (bench/kernels, same run as ours): " +
                     ", ".join(f"{bandwidth[t]:.1f} GB/s at {t} thread(s)" for t in sorted(bandwidth)) + ".")
    return "\n".join(lines)


def kernels_section(rows):
    index = kernel_index(rows)
    families = sorted({key[0] for key in index}, key=lambda f: (not f.startswith("ggml"), f))
    if not families:
        return "No kernel results yet."
    out = []
    for fam in families:
        keys = sorted((k for k in index if k[0] == fam), key=lambda k: (k[1] * k[2], k[1], k[3], k[4], k[5]))
        sample = index[keys[0]]
        out.append(f"<details><summary><b>{fam}</b> ({sample['impl']}, {role(sample)}, {len(keys)} rows)</summary>\n")
        out.append("| M×K | N | threads | regime | median µs | best µs | weights/cycle/core | GB/s |")
        out.append("|---|---:|---:|---|---:|---:|---:|---:|")
        for key in keys:
            row = index[key]
            out.append(f"| {row['m']}×{row['k']} | {row['n']} | {row['threads']} | {row['regime']} | "
                       f"{fmt(typical_us(row))}{mark(row)} | {fmt(best_us(row))}{mark(row)} | "
                       f"{fmt(row.get('weights_per_cycle_per_core'))} | "
                       f"{fmt(row.get('gbps'))} |")
        if any(disturbed(index[key]) for key in keys):
            out.append("\n" + DISTURBED_NOTE)
        out.append("\n</details>\n")
    return "\n".join(out)


def ratios_section(rows):
    index = kernel_index(rows)
    ours = sorted({k[0] for k, r in index.items() if role(r) == "ours"})
    baselines = sorted({k[0] for k, r in index.items() if role(r) == "baseline"},
                       key=lambda f: (not f.startswith("ggml"), f))
    if not ours:
        return ("No results of ours yet: the speed-up tables appear once bench/kernels' JSON lines are in "
                "docs/benchmarks/.")
    out = []
    summary = ["| ours | target | threads | regime | compared | met | min | geomean | max | left out † |",
               "|---|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for fam in ours:
        bases = [b for b in baselines if isa_tag(b) == isa_tag(fam)]
        if not bases:
            continue
        out.append(f"#### {fam}: speed-up over each baseline (baseline µs / ours µs)\n")
        out.append("| M×K | N | threads | regime | ours best µs | " + " | ".join(bases) + " |")
        out.append("|---|---:|---:|---|---:|" + "---:|" * len(bases))
        keys = sorted((k for k in index if k[0] == fam), key=lambda k: (k[1] * k[2], k[1], k[3], k[4], k[5]))
        per_target = {}  # (target, threads, regime) -> (ratios, rows left out because timed under load)
        for key in keys:
            row = index[key]
            cells = []
            for base in bases:
                other = index.get((base,) + key[1:])
                ratio = best_us(other) / best_us(row) if other and best_us(row) > 0 else None
                goal = None
                for target in TARGETS:
                    if (target[0] == untagged(base) and target[1] == (key[3] == 1) and
                            target[3] in (None, key[5])):
                        goal = target[2]
                        if ratio is not None:
                            ratios, left_out = per_target.setdefault((target, key[4], key[5]), ([], [0]))
                            if not usable(other) or not usable(row):
                                left_out[0] += 1
                            else:
                                ratios.append(ratio)
                cells.append(ratio_text(ratio, goal) + (" †" if other and (disturbed(other) or disturbed(row)) else ""))
            out.append(f"| {key[1]}×{key[2]} | {key[3]} | {key[4]} | {key[5]} | {fmt(best_us(row))} | " +
                       " | ".join(cells) + " |")
        out.append("")
        for target in TARGETS:
            for (t, threads, regime), (ratios, left_out) in sorted(per_target.items(), key=lambda i: (i[0][1], i[0][2] != "hot")):
                if t != target:
                    continue
                base, gemv, goal, _ = target
                tag = isa_tag(fam)
                what = f"{'GEMV (N = 1)' if gemv else 'GEMM (N > 1)'} ≥ {goal:g}× {base}{'@' + tag if tag else ''}"
                met = sum(1 for r in ratios if r >= goal)
                stats = (f"{min(ratios):.2f}× | {geomean(ratios):.2f}× | {max(ratios):.2f}×" if ratios else "– | – | –")
                summary.append(f"| {fam} | {what} | {threads} | {regime} | {len(ratios)} | {met} | {stats} | "
                               f"{left_out[0]} |")
    head = ("Targets of issues 6 (against llama.cpp) and 11 (cold GEMV against the I2_S- and TL2-style kernels of the "
            "same ISA) (✓ met, ✗ not met). The summary counts the comparisons where neither side was "
            "timed under load or a side timed under load at 1 thread was timed by its CPU time; the tables below "
            "show every row.\n")
    return "\n".join([head] + summary + [""] + out + ["", DISTURBED_NOTE])


def floor_section(rows):
    """Issue 11's cold-GEMV floor: each cold N = 1 row of ours against the weights at 1.375 bits
    read at 0.85 × the bandwidth measured in the same file (same run) at the same thread count;
    best call against the best bandwidth sample, median against the median."""
    bandwidth = {}
    for row in rows:
        if row.get("bench") == "bandwidth" and "threads" in row and "read_gbps" in row:
            bandwidth[(row["_source"], row["threads"])] = row
    out = ["| kernel family | M×K | threads | bits/weight streamed | read GB/s best / median | floor µs best / median | "
           "best µs | median µs | best / floor | median / floor | load at start |",
           "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|"]
    cases = []
    for row in rows:
        bw = bandwidth.get((row.get("_source"), row.get("threads")))
        if (row.get("bench") != "kernel" or row.get("regime") != "cold" or row.get("n") != 1 or
                role(row) != "ours" or bw is None):
            continue
        floor_bytes = row["m"] * row["k"] * FLOOR_BITS_PER_WEIGHT / 8
        floor_best = floor_bytes / (FLOOR_BANDWIDTH_SHARE * bw["read_gbps"] * 1e9) * 1e6
        median_gbps = bw.get("median_gbps") or bw["read_gbps"]
        floor_median = floor_bytes / (FLOOR_BANDWIDTH_SHARE * median_gbps * 1e9) * 1e6
        cases.append((family(row), row["threads"], row["m"] * row["k"], row["m"], row["k"], row, bw,
                      floor_best, floor_median))
    if not cases:
        return "No cold GEMV rows of ours with a bandwidth row from the same run yet (scripts/bench_kernels.sh)."
    met = {}
    for fam, threads, _, m, k, row, bw, floor_best, floor_median in sorted(cases, key=lambda c: c[:5]):
        best, median = best_us(row), typical_us(row)
        load = start_load(row)
        met.setdefault(threads, []).append(best <= floor_best)
        out.append(f"| {fam} | {m}×{k} | {threads} | {fmt(row.get('bits_per_weight'), 4)} | "
                   f"{bw['read_gbps']:.1f} / {bw.get('median_gbps', bw['read_gbps']):.1f} | "
                   f"{fmt(floor_best)} / {fmt(floor_median)} | {fmt(best)} | {fmt(median)} | "
                   f"{best / floor_best:.2f}{' ✓' if best <= floor_best else ' ✗'} | {median / floor_median:.2f} | "
                   f"{fmt(load) if load is not None else '–'} |")
    summary = "; ".join(f"{threads} thread(s): {sum(v)} of {len(v)} shapes at or under the floor (best call)"
                        for threads, v in sorted(met.items()))
    return ("Cold GEMV against issue 11's floor, time ≤ bytes at 1.375 bits/weight ÷ (0.85 × read bandwidth of the "
            f"same run): {summary}.\n\n" + "\n".join(out))


def e2e_label(row):
    """Column name: implementation and format, plus the measuring tool where a row names one."""
    tool = f" ({row['tool']})" if row.get("tool") else ""
    return f"{row['impl']} {row['format']}{tool}"


def e2e_section(rows):
    e2e = [r for r in rows if r.get("bench") == "e2e"]
    if not e2e:
        return "No end-to-end results yet."
    index = {}
    for row in e2e:
        key = (e2e_label(row), row.get("model", "–"), row["phase"], row.get("tokens"), row["threads"])
        if key not in index or not disturbed(row) or disturbed(index[key]):
            index[key] = row
    first = {}
    for row in e2e:
        first.setdefault(e2e_label(row), row)
    columns = sorted(first, key=lambda c: (first[c]["impl"] != "llama.cpp", c))
    groups = sorted({k[1:] for k in index}, key=lambda g: (g[0], g[1] != "decode", g[2] or 0, g[3]))
    ours = [c for c in columns if first[c]["impl"] != "llama.cpp"]
    refs = [c for c in columns if first[c]["impl"] == "llama.cpp"]
    header = "| model | phase | tokens | threads | " + " | ".join(f"{c} tok/s" for c in columns)
    header += "".join(f" | {o} / {r}" for o in ours for r in refs) + " |"
    out = [header, "|---|---|---:|---:|" + "---:|" * (len(columns) + len(ours) * len(refs))]
    for group in groups:
        values = [index.get((c,) + group) for c in columns]
        cells = [f"{v['tok_s']:.2f}{mark(v)}" if v else "–" for v in values]
        for o in ours:
            for r in refs:
                a = index.get((o,) + group)
                b = index.get((r,) + group)
                goal = 1.5 if group[1] == "decode" and first[r]["format"] == "TQ2_0" else None
                text = ratio_text(a["tok_s"] / b["tok_s"], goal) if a and b and b["tok_s"] > 0 else "–"
                cells.append(text + (" †" if a and b and (disturbed(a) or disturbed(b)) else ""))
        out.append(f"| {group[0]} | {group[1]} | {group[2]} | {group[3]} | " + " | ".join(cells) + " |")
    sizes = sorted({(r["impl"], r["format"], r.get("model_bytes")) for r in e2e if r.get("model_bytes")})
    if sizes:
        out.append("")
        out.append("Model sizes: " + ", ".join(f"{impl} {form} {b / 2**20:.0f} MiB" for impl, form, b in sizes) + ".")
    if any(disturbed(r) for r in index.values()):
        out.append("")
        out.append(DISTURBED_NOTE)
    return "\n".join(out)


def side_by_side_rows(rows):
    """scripts/bench_e2e.sh's rows: llama-bench's and sherry-bench's JSON lines with our fields."""
    return [r for r in rows if r.get("kind") == "side_by_side"]


def side_by_side_test(row):
    return f"pp{row['n_prompt']}" if row.get("n_prompt", 0) > 0 else f"tg{row['n_gen']}"


def side_by_side_section(rows):
    e2e = side_by_side_rows(rows)
    if not e2e:
        return "No side-by-side results yet (scripts/bench_e2e.sh)."
    types = ["Sherry", "TQ2_0", "TQ1_0"]
    table = {}
    for r in e2e:
        table.setdefault((side_by_side_test(r), r["n_threads"]), {}).setdefault(r["file_type"], []).append(r["avg_ts"])

    def span(values):
        lo, hi = min(values), max(values)
        return f"{lo:.1f}" if hi - lo < 0.05 * hi else f"{lo:.1f}–{hi:.1f}"

    def ratio(by, other):
        if "Sherry" not in by or other not in by:
            return "–"
        lo, hi = min(by["Sherry"]) / max(by[other]), max(by["Sherry"]) / min(by[other])
        return f"{lo:.2f}×" if hi - lo < 0.05 * hi else f"{lo:.2f}–{hi:.2f}×"

    cpus = sorted({r["cpu"] for r in e2e})
    heads = sorted({(r["file_type"], r["head_type"], r["embd_type"], r["file_bytes"]) for r in e2e})
    loads = [r["loadavg_before"] for r in e2e] + [r["loadavg_after"] for r in e2e]
    commits = sorted({r.get("build_commit", "?") for r in e2e if r["tool"] == "sherry-bench"})
    llama = sorted({r.get("llama_cpp_commit", "?") for r in e2e})
    out = [f"CPU: {', '.join(cpus)}; sherry {', '.join(commits)}, llama.cpp {', '.join(llama)}; "
           f"{len({r['round'] for r in e2e})} round(s), the range over rounds shown where they differ "
           f"by 5 % or more; load average {min(loads):.2f}–{max(loads):.2f} before and after the runs.",
           "",
           "| test | threads | " + " | ".join(f"{t} t/s" for t in types) + " | Sherry / TQ2_0 | Sherry / TQ1_0 |",
           "|---|---:|" + "---:|" * (len(types) + 2)]
    for (test, threads), by in sorted(table.items(), key=lambda kv: (kv[0][1], not kv[0][0].startswith("pp"),
                                                                     int(kv[0][0][2:]))):
        cells = [span(by[t]) if t in by else "–" for t in types]
        out.append(f"| {test} | {threads} | " + " | ".join(cells) + f" | {ratio(by, 'TQ2_0')} | {ratio(by, 'TQ1_0')} |")
    out.append("")
    out.append("Files: " + "; ".join(f"{t}: {b / 2**20:.1f} MiB, head {h}, embedding {e}" for t, h, e, b in heads) + ".")
    return "\n".join(out)


def write_tokens_histogram(plot_dir, name, title, cases, series, values, width):
    """Clustered bars of tokens/s (log scale): one cluster per case, one bar per series;
    values[(case, series)], missing ones left out."""
    with open(os.path.join(plot_dir, f"plot_{name}.dat"), "w", encoding="utf-8") as data:
        data.write("case " + " ".join(f'"{s}"' for s in series) + "\n")
        for case in cases:
            data.write(f'"{case}" ' + " ".join(
                f"{values[(case, s)]:.3f}" if (case, s) in values else "NaN" for s in series) + "\n")
    with open(os.path.join(plot_dir, f"plot_{name}.gp"), "w", encoding="utf-8") as script:
        script.write(f"""set terminal pngcairo size {width},520 font "sans,10" noenhanced
set output "{name}.png"
set title "{title}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set grid ytics
set key outside right top
set ylabel "tokens / s"
set datafile missing "NaN"
plot for [i=2:{len(series) + 1}] "plot_{name}.dat" using i:xtic(1) title columnheader(i)
""")


def write_plots(rows, plot_dir):
    """Writes gnuplot data and scripts; make_benchmarks_report.sh runs gnuplot and deletes them."""
    index = kernel_index(rows)
    families = sorted({k[0] for k in index}, key=lambda f: (not f.startswith("ggml"), f))
    made = []
    for threads in sorted({k[4] for k in index}):
        keys = sorted({(k[1], k[2], k[5]) for k in index if k[3] == 1 and k[4] == threads},
                      key=lambda s: (s[0] * s[1], s[0], s[2] != "hot"))
        if not keys:
            continue
        name = f"gemv_t{threads}"
        with open(os.path.join(plot_dir, f"plot_{name}.dat"), "w", encoding="utf-8") as data:
            data.write("shape " + " ".join(f'"{f}"' for f in families) + "\n")
            for m, k, regime in keys:
                values = [index.get((f, m, k, 1, threads, regime)) for f in families]
                data.write(f'"{m}x{k} {regime}" ' +
                           " ".join(f"{v['weights_per_cycle_per_core']:.4f}" if v and v.get('weights_per_cycle_per_core') and not disturbed(v)
                                    else "NaN" for v in values) + "\n")
        with open(os.path.join(plot_dir, f"plot_{name}.gp"), "w", encoding="utf-8") as script:
            script.write(f"""set terminal pngcairo size 1400,520 font "sans,10" noenhanced
set output "{name}.png"
set title "GEMV (N = 1), {threads} thread(s): weights per cycle per core (higher is better; rows timed under load left out)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside right top
set xtics rotate by -35
set grid ytics
set ylabel "weights / cycle / core"
set yrange [0:*]
set datafile missing "NaN"
plot for [i=2:{len(families) + 1}] "plot_{name}.dat" using i:xtic(1) title columnheader(i)
""")
        made.append(f"{name}.png")
    for threads in sorted({k[4] for k in index}):
        series = {}
        for fam in families:
            for n in sorted({k[3] for k in index}):
                values = [r["weights_per_cycle_per_core"] for k, r in index.items()
                          if k[0] == fam and k[3] == n and k[4] == threads and k[5] == "hot"
                          and r.get("weights_per_cycle_per_core") and not disturbed(r)]
                if values:
                    series.setdefault(fam, []).append((n, geomean(values)))
        if not series:
            continue
        name = f"gemm_t{threads}"
        with open(os.path.join(plot_dir, f"plot_{name}.dat"), "w", encoding="utf-8") as data:
            for fam, points in series.items():
                data.write(f'"{fam}"\n')
                for n, value in points:
                    data.write(f"{n} {value:.4f}\n")
                data.write("\n\n")
        with open(os.path.join(plot_dir, f"plot_{name}.gp"), "w", encoding="utf-8") as script:
            script.write(f"""set terminal pngcairo size 900,520 font "sans,10" noenhanced
set output "{name}.png"
set title "GEMM, {threads} thread(s), hot: m·k·n per cycle per core (geomean over shapes; rows timed under load left out)"
set logscale x 2
set grid
set key outside right top
set xlabel "N (tokens)"
set ylabel "m·k·n / cycle / core"
set yrange [0:*]
plot for [i=0:{len(series) - 1}] "plot_{name}.dat" index i using 1:2 with linespoints lw 2 title columnheader(1)
""")
        made.append(f"{name}.png")
    index = {}
    for row in rows:
        if row.get("bench") == "e2e" and not disturbed(row):
            index[(e2e_label(row), row["phase"], row["threads"])] = row["tok_s"]
    if index:
        labels = sorted({k[0] for k in index}, key=lambda l: (not l.startswith("llama.cpp"), l))
        groups = sorted({(k[1], k[2]) for k in index}, key=lambda g: (g[0] != "decode", g[1]))
        values = {(f"{phase} {threads}t", l): v for (l, phase, threads), v in index.items()}
        write_tokens_histogram(plot_dir, "e2e", "End to end, Llama-3.2-1B-shaped model: tokens/s (higher is better)",
                               [f"{phase} {threads}t" for phase, threads in groups], labels, values, 900)
        made.append("e2e.png")
    e2e = side_by_side_rows(rows)
    if e2e:
        types = ["Sherry", "TQ2_0", "TQ1_0"]
        best = {}
        for r in e2e:
            key = (side_by_side_test(r), r["n_threads"], r["file_type"])
            best[key] = max(best.get(key, 0.0), r["avg_ts"])
        cases = sorted({k[:2] for k in best}, key=lambda c: (c[1], not c[0].startswith("pp"), int(c[0][2:])))
        values = {(f"{test} {threads}t", t): v for (test, threads, t), v in best.items()}
        write_tokens_histogram(plot_dir, "e2e_side_by_side",
                               "sherry-bench vs llama-bench, same model shape and head/embedding types: "
                               "tokens/s (best round)",
                               [f"{test} {threads}t" for test, threads in cases], types, values, 1000)
        made.append("e2e_side_by_side.png")
    return made


def replace_region(text, name, body):
    begin = f"<!-- BEGIN GENERATED: {name} -->"
    end = f"<!-- END GENERATED: {name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text, count=1)
    return text.rstrip() + f"\n\n{block}\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--doc", required=True)
    parser.add_argument("--plot-dir", default="")
    args = parser.parse_args()

    rows, paths = load_rows(args.results)
    if not paths:
        warn(f"{args.results}: no *.jsonl results; the tables say so")
    plots = write_plots(rows, args.plot_dir) if args.plot_dir else []
    text = open(args.doc, encoding="utf-8").read() if os.path.exists(args.doc) else "# Benchmarks\n"
    rel = os.path.relpath(args.results, os.path.dirname(os.path.abspath(args.doc)))
    kernel_plots = "\n\n".join(f"![{p}]({rel}/{p})" for p in plots if not p.startswith("e2e"))
    e2e_plots = "\n\n".join(f"![{p}]({rel}/{p})" for p in plots if p == "e2e.png")
    side_plots = "\n\n".join(f"![{p}]({rel}/{p})" for p in plots if p == "e2e_side_by_side.png")
    text = replace_region(text, "provenance", provenance_section(rows, paths))
    text = replace_region(text, "kernels", (kernel_plots + "\n\n" if kernel_plots else "") + kernels_section(rows))
    text = replace_region(text, "kernel-ratios", ratios_section(rows))
    text = replace_region(text, "gemv-floor", floor_section(rows))
    text = replace_region(text, "e2e", e2e_section(rows) + ("\n\n" + e2e_plots if e2e_plots else ""))
    text = replace_region(text, "e2e-side-by-side",
                          side_by_side_section(rows) + ("\n\n" + side_plots if side_plots else ""))
    with open(args.doc + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(args.doc + ".tmp", args.doc)


if __name__ == "__main__":
    main()
