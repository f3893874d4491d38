#!/usr/bin/env python3
"""Turns sherry-train runs (their metrics.jsonl) into PNG curves.

    scripts/plot_training.py RUN_DIR [RUN_DIR ...] [--out DIR]

One figure per quantity, one line per run: training loss, validation perplexity, learning rate,
Arenas lambda, tokens/s, the mean near-decision share over the quantized layers, the gradient
effective rank of the diagnosed layer, and the last |W|/alpha histogram of each run.
Plotting is optional, so matplotlib is installed here (Debian's python3-matplotlib) only when
missing.
"""
import argparse
import json
import os
import subprocess
import sys


DEBIAN_PYTHON = "/usr/bin/python3"


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


def series(rows, key):
    xs = [r["step"] for r in rows if key in r]
    ys = [r[key] for r in rows if key in r]
    return xs, ys


def layer_mean(rows, key):
    xs, ys = [], []
    for r in rows:
        values = [layer[key] for layer in r.get("layers", []) if key in layer]
        if values:
            xs.append(r["step"])
            ys.append(sum(values) / len(values))
    return xs, ys


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run directories holding metrics.jsonl")
    parser.add_argument("--out", default="plots", help="output directory for the PNG files")
    args = parser.parse_args()
    plt = import_matplotlib()
    os.makedirs(args.out, exist_ok=True)
    runs = [(os.path.basename(os.path.normpath(r)), read_run(r)) for r in args.runs]

    curves = [
        ("loss", "training loss", lambda rows: series(rows, "loss"), False),
        ("val_ppl", "validation perplexity", lambda rows: series(rows, "val_ppl"), True),
        ("lr", "learning rate", lambda rows: series(rows, "lr"), False),
        ("lambda", "Arenas lambda", lambda rows: series(rows, "lambda"), False),
        ("tokens_per_second", "tokens/s", lambda rows: series(rows, "tokens_per_second"), False),
        ("near_decision_share", "share of weights near the zeroing decision (mean over layers)",
         lambda rows: layer_mean(rows, "near_decision_share"), False),
        ("grad_effective_rank", "gradient effective rank (mean over the diagnosed layer)",
         lambda rows: layer_mean(rows, "grad_effective_rank"), False),
    ]
    for name, title, get, log_scale in curves:
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = False
        for label, rows in runs:
            xs, ys = get(rows)
            if xs:
                ax.plot(xs, ys, label=label, marker="o" if len(xs) < 30 else None)
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, name + ".png"), dpi=110)
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
        ax.plot(centers, mean, label=f"{label} (step {last[-1]['step']})")
        drawn = True
    if drawn:
        ax.set_xlabel("|W| / alpha (last bin: >= 2)")
        ax.set_ylabel("share of weights")
        ax.set_title("latent weight histogram at the last evaluation (mean over layers)")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(args.out, "abs_over_alpha_histogram.png"), dpi=110)
    plt.close(fig)
    print(f"plot_training: wrote PNG files to {args.out}")


if __name__ == "__main__":
    main()
