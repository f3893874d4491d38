#!/usr/bin/env python3
"""The error messages of the llama.cpp benchmark scripts and harness programs, fed bad input.

The scripts' argument checks run anywhere. The harness programs are built by
scripts/fetch_llama_cpp.sh into .cache/llama.cpp/ (not by CMake); their tests are skipped until then
(a failure in CI: skip_or_fail.py); scripts/test.sh builds them first.
"""

import os
import subprocess
import tempfile
import unittest

from skip_or_fail import skip_unless

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(ROOT, ".cache", "llama.cpp")


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120)


def built(program):
    return os.access(os.path.join(CACHE, program), os.X_OK)


class ScriptArgumentsTest(unittest.TestCase):
    def test_bench_llamacpp_rejects_an_unknown_argument(self):
        done = run(os.path.join(ROOT, "scripts", "bench_llamacpp.sh"), "--bogus")
        self.assertEqual(done.returncode, 2)
        self.assertIn("bench_llamacpp.sh: unknown argument '--bogus'", done.stderr)

    def test_bench_llamacpp_rejects_an_unknown_writer(self):
        done = run(os.path.join(ROOT, "scripts", "bench_llamacpp.sh"), "--writer", "python")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--writer: expected auto, sherry or llama, found 'python'", done.stderr)

    def test_fetch_llama_cpp_rejects_an_unknown_argument(self):
        done = run(os.path.join(ROOT, "scripts", "fetch_llama_cpp.sh"), "--bogus")
        self.assertEqual(done.returncode, 2)
        self.assertIn("fetch_llama_cpp.sh: unknown argument '--bogus'", done.stderr)

    def test_the_report_names_a_missing_results_folder(self):
        with tempfile.TemporaryDirectory() as folder:
            missing = os.path.join(folder, "nothing")
            done = run(os.path.join(ROOT, "scripts", "make_benchmarks_report.sh"), "--no-plots", "--results",
                       missing, "--doc", os.path.join(folder, "b.md"))
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{missing}: no results directory", done.stderr)


class NpmFetchTest(unittest.TestCase):
    def test_a_cached_tarball_with_the_wrong_checksum_is_named_and_deleted(self):
        with tempfile.TemporaryDirectory() as cache:
            tarball = os.path.join(cache, "fake-pkg-1.0.0.tgz")
            with open(tarball, "wb") as handle:
                handle.write(b"not the pinned bytes")
            script = (f"source {ROOT}/scripts/lib/npm_fetch.sh && "
                      "npm_fetch_package fake-pkg 1.0.0 " + "0" * 64)
            done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60,
                                  env=dict(os.environ, SHERRY_NPM_CACHE=cache))
            self.assertEqual(done.returncode, 1)
            self.assertIn(f"{tarball}: expected sha256 {'0' * 64}, found ", done.stderr)
            self.assertIn("(deleted; run again to re-download)", done.stderr)
            self.assertFalse(os.path.exists(tarball))


@skip_unless(built("ggml_gemv_bench"), "scripts/fetch_llama_cpp.sh has not built the harness")
class GemvBenchArgumentsTest(unittest.TestCase):
    def bench(self, *args):
        return run(os.path.join(CACHE, "ggml_gemv_bench"), *args)

    def test_an_unknown_type_is_named(self):
        done = self.bench("--types", "q5_k")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--types: expected tq1_0, tq2_0, q4_0 or q8_0, found 'q5_k'", done.stderr)

    def test_a_shape_without_an_x_is_named(self):
        done = self.bench("--shapes", "2048")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--shapes: expected MxK, found '2048'", done.stderr)

    def test_an_unknown_regime_is_named(self):
        done = self.bench("--regimes", "warm")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--regimes: expected hot or cold, found 'warm'", done.stderr)

    def test_a_count_that_is_not_a_positive_integer_is_named(self):
        done = self.bench("--n", "0")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--n: expected a positive integer, found '0'", done.stderr)

    def test_a_small_run_agrees_with_the_reference(self):
        done = self.bench("--shapes", "256x512", "--n", "1,3", "--threads", "1", "--types", "tq1_0,tq2_0,q4_0",
                          "--regimes", "hot", "--min-time-s", "0.01", "--min-samples", "1")
        self.assertEqual(done.returncode, 0, done.stderr)
        rows = [line for line in done.stdout.splitlines() if '"bench":"kernel"' in line]
        self.assertEqual(len(rows), 6)
        for row in rows:
            self.assertIn('"verified":true', row)


@skip_unless(built("make_random_llama"), "scripts/fetch_llama_cpp.sh has not built make_random_llama")
class MakeRandomLlamaArgumentsTest(unittest.TestCase):
    def test_a_vocab_file_that_is_not_gguf_is_named(self):
        with tempfile.NamedTemporaryFile(suffix=".gguf") as bad:
            bad.write(b"not a gguf file")
            bad.flush()
            done = run(os.path.join(CACHE, "make_random_llama"), "--vocab", bad.name, "--out", bad.name + ".out")
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{bad.name}: not a readable GGUF file", done.stderr)

    def test_heads_that_do_not_divide_the_hidden_size_are_refused(self):
        done = run(os.path.join(CACHE, "make_random_llama"), "--vocab", "v", "--out", "o", "--hidden", "100",
                   "--heads", "3")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--hidden must be a multiple of --heads", done.stderr)


@skip_unless(built("llama_e2e_bench"), "scripts/fetch_llama_cpp.sh has not built llama_e2e_bench")
class E2eBenchArgumentsTest(unittest.TestCase):
    def test_a_model_llama_cpp_cannot_load_is_named(self):
        with tempfile.NamedTemporaryFile(suffix=".gguf") as bad:
            bad.write(b"GGUF but not really")
            bad.flush()
            done = run(os.path.join(CACHE, "llama_e2e_bench"), "--model", bad.name, "--format", "TQ2_0")
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{bad.name}: llama.cpp cannot load this model", done.stderr)

    def test_the_model_and_format_are_required(self):
        done = run(os.path.join(CACHE, "llama_e2e_bench"), "--threads", "1")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--model and --format are required", done.stderr)


if __name__ == "__main__":
    unittest.main()
