#!/usr/bin/env python3
"""bench_baselines --tuned times each thread count with the tuning entry timed at that count.

A tuning file is written by sherry-tune at 1 and at 2 threads (so its CPU signature and JIT
generation are this build's), then its two entries are given different prefetch distances; the
lut_tuned rows must name the kernel of their own thread count's entry. (Before, every row used
the entry of the largest thread count.)

    bench_baselines_tuned_test.py BENCH_BASELINES SHERRY_TUNE
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

BENCH, TUNE = sys.argv[1], sys.argv[2]
SHAPE = "128x256"
PREFETCH = {1: 1024, 2: 4096}  # distances neither path defaults to


def run(args, env):
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    if done.returncode != 0:
        raise AssertionError(f"{args[0]} exited with {done.returncode}: {done.stderr[-2000:]}")
    return done


class TunedRowsTest(unittest.TestCase):
    def test_each_thread_count_uses_its_own_entry(self):
        with tempfile.TemporaryDirectory() as folder:
            tuning = os.path.join(folder, "tuning.json")
            env = dict(os.environ, SHERRY_TUNING_FILE=tuning)
            for threads in PREFETCH:
                run([TUNE, "--shapes", SHAPE, "--threads", str(threads), "--budget-s", "0.3",
                     "--regime", "hot", "--output", tuning], env)
            with open(tuning) as f:
                document = json.load(f)
            self.assertEqual(sorted(e["threads"] for e in document["kernels"]), [1, 2])
            for entry in document["kernels"]:
                entry["prefetch"] = PREFETCH[entry["threads"]]
            with open(tuning, "w") as f:
                json.dump(document, f)

            done = run([BENCH, "--tuned", "--shapes", SHAPE, "--n", "1", "--threads", "1,2",
                        "--modes", "hot", "--families", "lut", "--min-time", "0.01",
                        "--cold-mb", "1", "--ghz", "3"], env)
            rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
            tuned = {r["threads"]: r["kernel"] for r in rows if r["family"] == "lut_tuned"}
            self.assertEqual(sorted(tuned), [1, 2], done.stdout)
            for threads, kernel in tuned.items():
                self.assertTrue(kernel.endswith(f"_p{PREFETCH[threads]}"),
                                f"{threads} thread(s) ran {kernel}")
            self.assertTrue(all(r["verified"] for r in rows), done.stdout)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
