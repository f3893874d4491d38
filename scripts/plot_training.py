#!/usr/bin/env python3
"""Turns sherry-train runs (their metrics.jsonl) into PNG curves.

    scripts/plot_training.py RUN_DIR [RUN_DIR ...] [--out DIR] [--x step|tokens]

One figure per quantity, one line per run: training loss, validation bits per byte and perplexity
(at lambda = 0), learning rate, Arenas lambda, tokens/s, and the weight-trapping signs measured at
each evaluation (docs/training.md): the flip share (3:4 blocks whose zero lane moved since the last
evaluation), the near-decision share, the histogram mass near +-alpha (|W|/alpha in [0.9, 1.1)),
the gradient effective rank on the probe batch (mean over the diagnosed matrices), the last
|W|/alpha histogram of each run, and the time per step by phase.
Runs whose directory names differ only by a seed suffix (_s1, _s2, -seed3) share a colour, one
line style per seed, so arms of an experiment read at a glance.
Plotting is optional, so matplotlib is installed here (Debian's python3-matplotlib) only when
missing.
"""
import argparse
import json
import os
import re
import subprocess
import sys


DEBIAN_PYTHON = "/usr/bin/python3"
SEED_SUFFIX = re.compile(r"(_s|-seed|_seed)(\d+)$")


def import_matplotlib():
    try:
        import matplotlib
    except ImportError:
        # Debian's package lives in Debian's interpreter; another python3 first on PATH (pyenv,
        # a venv) cannot see it, so the script re-runs itself there.
        if not os.path.exists("/usr/lib/python3/dist-packages/matplotlib"):
            print("plot_training: installing python3-matplotlib (Debian)", file=sys.stderr)
            sudo = [] if os.geteuid() == 0 else ["sudo"]
            subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                                   "python3-matplotlib"], check=True)
        if os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON) and os.path.exists(DEBIAN_PYTHON):
            os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
        import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def read_run(run_dir):
    path = os.path.join(run_dir, "metrics.jsonl")
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            rows[row["step"]] = row  # a resumed run rewrote its tail: the last entry wins
    return [rows[s] for s in sorted(rows)]


def x_of(row, axis):
    return row.get("tokens_seen", 0) if axis == "tokens" else row["step"]


def series(rows, key, axis):
    xs = [x_of(r, axis) for r in rows if r.get(key) is not None]
    ys = [r[key] for r in rows if r.get(key) is not None]
    return xs, ys


def layer_mean(rows, value, axis):
    """value(layer) -> number or None; the mean over the layers that have one, per evaluation."""
    xs, ys = [], []
    for r in rows:
        values = [value(layer) for layer in r.get("layers", [])]
        values = [v for v in values if v is not None]
        if values:
            xs.append(x_of(r, axis))
            ys.append(sum(values) / len(values))
    return xs, ys


def near_alpha_mass(layer):
    h = layer.get("abs_over_alpha_histogram")
    return None if h is None else h[9] + h[10]  # |W|/alpha in [0.9, 1.0) and [1.0, 1.1)


def split_seed(label):
    m = SEED_SUFFIX.search(label)
    return (label[:m.start()], int(m.group(2))) if m else (label, None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories holding metrics.jsonl")
    parser.add_argument("--out", default="plots", help="output directory for the PNG files")
    parser.add_argument("--x", choices=["step", "tokens"], default="step",
                        help="horizontal axis: optimizer step or training tokens seen")
    parser.add_argument("--prefix", default="", help="file name prefix of every PNG")
    args = parser.parse_args()
    plt = import_matplotlib()
    os.makedirs(args.out, exist_ok=True)
    runs = [(os.path.basename(os.path.normpath(r)), read_run(r)) for r in args.runs]
    arms = []
    for label, _ in runs:
        arm, _ = split_seed(label)
        if arm not in arms:
            arms.append(arm)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]

    def style(label):
        arm, seed = split_seed(label)
        colour = colours[arms.index(arm) % len(colours)]
        return dict(color=colour, linestyle=styles[(seed or 0) % len(styles)] if seed else "-")

    axis = args.x
    curves = [
        ("loss", "training loss", lambda rows: series(rows, "loss", axis), False),
        ("val_bpb", "validation bits per byte (lambda = 0)",
         lambda rows: series(rows, "val_bpb", axis), False),
        ("val_ppl", "validation perplexity (lambda = 0)",
         lambda rows: series(rows, "val_ppl", axis), True),
        ("lr", "learning rate", lambda rows: series(rows, "lr", axis), False),
        ("lambda", "Arenas lambda", lambda rows: series(rows, "lambda", axis), False),
        ("tokens_per_second", "tokens/s (timed step)",
         lambda rows: series(rows, "tokens_per_second", axis), False),
        ("flip_share", "3:4 blocks whose zero lane moved since the last evaluation (mean)",
         lambda rows: layer_mean(rows, lambda l: l.get("flip_share"), axis), True),
        ("near_decision_share", "share of blocks near the zeroing decision (mean over matrices)",
         lambda rows: layer_mean(rows, lambda l: l.get("near_decision_share"), axis), False),
        ("near_alpha_mass", "latent weights with |W|/alpha in [0.9, 1.1) (mean over matrices)",
         lambda rows: layer_mean(rows, near_alpha_mass, axis), False),
        ("grad_effective_rank", "gradient effective rank, probe batch at lambda = 0 (mean)",
         lambda rows: layer_mean(rows, lambda l: l.get("grad_effective_rank"), axis), False),
    ]
    for name, title, get, log_scale in curves:
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = False
        for label, rows in runs:
            xs, ys = get(rows)
            if log_scale:
                xs, ys = zip(*[(x, y) for x, y in zip(xs, ys) if y > 0]) if any(y > 0 for y in ys) else ([], [])
            if xs:
                ax.plot(xs, ys, label=label, marker="o" if len(xs) < 30 else None, markersize=3,
                        **style(label))
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("training tokens" if axis == "tokens" else "optimizer step")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, args.prefix + name + ".png"), dpi=110)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = False
    for label, rows in runs:
        last = [r for r in rows if any("abs_over_alpha_histogram" in l for l in r.get("layers", []))]
        if not last:
            continue
        layers = [l["abs_over_alpha_histogram"] for l in last[-1]["layers"] if "abs_over_alpha_histogram" in l]
        mean = [sum(h[i] for h in layers) / len(layers) for i in range(len(layers[0]))]
        centers = [0.05 + 0.1 * i for i in range(len(mean))]
        ax.plot(centers, mean, label=f"{label} (step {last[-1]['step']})", **style(label))
        drawn = True
    if drawn:
        ax.set_xlabel("|W| / alpha (last bin: >= 2)")
        ax.set_ylabel("share of weights")
        ax.set_title("latent weight histogram at the last evaluation (mean over matrices)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, args.prefix + "abs_over_alpha_histogram.png"), dpi=110)
    plt.close(fig)

    # Time per step by phase: the median over each run's steps.
    phased = [(label, rows) for label, rows in runs if any("phase_seconds" in r for r in rows)]
    if phased:
        phases = list(next(r["phase_seconds"] for r in phased[0][1] if "phase_seconds" in r).keys())
        fig, ax = plt.subplots(figsize=(7, 0.6 * len(phased) + 1.5))
        for i, (label, rows) in enumerate(phased):
            left = 0.0
            for j, phase in enumerate(phases):
                values = sorted(r["phase_seconds"].get(phase, 0.0) for r in rows if "phase_seconds" in r)
                ms = 1e3 * values[len(values) // 2]
                ax.barh(i, ms, left=left, color=colours[j % len(colours)], label=phase if i == 0 else None)
                left += ms
        ax.set_yticks(range(len(phased)))
        ax.set_yticklabels([label for label, _ in phased], fontsize=8)
        ax.set_xlabel("ms per step (median)")
        ax.set_title("time per training step by phase", fontsize=10)
        ax.legend(fontsize=7, ncol=4)
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, args.prefix + "phase_seconds.png"), dpi=110)
        plt.close(fig)
    print(f"plot_training: wrote PNG files to {args.out}")


if __name__ == "__main__":
    main()
