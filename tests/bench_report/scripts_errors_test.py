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

    def test_bench_kernels_and_bench_baselines_reject_an_unknown_argument(self):
        for script, expected in (("bench_kernels.sh", "--max-load L, --min-time S, --quick"),
                                 ("bench_baselines.sh", "--isa ISA, --max-load L")):
            done = run(os.path.join(ROOT, "scripts", script), "--bogus")
            self.assertEqual(done.returncode, 2, script)
            self.assertIn(f"{script}: unknown argument '--bogus'", done.stderr)
            self.assertIn(expected, done.stderr)

    def test_wait_quiet_returns_at_once_without_a_limit_and_says_when_it_gives_up(self):
        quiet = os.path.join(ROOT, "scripts", "lib", "quiet.sh")
        done = run("bash", "-c", f'source "{quiet}"; wait_quiet 0 600 probe && echo returned')
        self.assertEqual(done.stdout.strip(), "returned")
        self.assertEqual(done.stderr, "")
        # A machine stuck at load 5: with no time to wait it goes ahead and says so.
        done = run("bash", "-c",
                   f'source "{quiet}"; loadavg() {{ echo 5.00; }}; wait_quiet 0.3 0 probe && echo returned')
        self.assertEqual(done.stdout.strip(), "returned")
        self.assertIn("probe: load average still 5.00 after 0 s (wanted < 0.3): running anyway", done.stderr)
        # At load 0.10 under a limit of 0.3 it does not wait or speak.
        done = run("bash", "-c",
                   f'source "{quiet}"; loadavg() {{ echo 0.10; }}; wait_quiet 0.3 600 probe && echo returned')
        self.assertEqual(done.stdout.strip(), "returned")
        self.assertEqual(done.stderr, "")

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


class MakeBenchModelTest(unittest.TestCase):
    """scripts/make_bench_model.sh with stand-ins for sherry-make-model and sherry-quantize that
    record their arguments and write empty files: the file names and the types asked for, without
    the 3 GB model."""

    def make(self, *args):
        with tempfile.TemporaryDirectory() as folder:
            bin_dir = os.path.join(folder, "build", "bin")
            os.makedirs(bin_dir)
            log = os.path.join(folder, "calls.txt")
            for tool, output_arg in (("sherry-make-model", "$1"), ("sherry-quantize", "$2")):
                path = os.path.join(bin_dir, tool)
                with open(path, "w") as handle:
                    handle.write(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\n: > "{output_arg}"\n')
                os.chmod(path, 0o755)
            out = os.path.join(folder, "models")
            done = run(os.path.join(ROOT, "scripts", "make_bench_model.sh"), "--out", out, "--build-dir",
                       os.path.join(folder, "build"), *args)
            calls = open(log).read() if os.path.exists(log) else ""
            return done, calls, out

    def quantize_call(self, calls):
        return next(line for line in calls.splitlines() if line.startswith("sherry-quantize"))

    def test_the_default_is_a_q6_k_head_and_a_q4_k_embedding(self):
        done, calls, out = self.make()
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(),
                         os.path.join(out, "llama3.2-1b-shape-sherry-head-q6_k-embd-q4_k.gguf"))
        self.assertIn("--type sherry --output-type q6_k --embd-type q4_k", self.quantize_call(calls))

    def test_every_head_and_embedding_type_is_passed_on(self):
        cases = [(("--head", "q4_k"), "head-q4_k", "q4_k q4_k"),
                 (("--head", "q5_k"), "head-q5_k-embd-q4_k", "q5_k q4_k"),
                 (("--head", "q6_k", "--embd", "q6_k"), "head-q6_k", "q6_k q6_k"),
                 (("--head", "q8_0"), "head-q8_0", "q8_0 q8_0"),
                 (("--head", "f16"), "head-f16", "f16 f16"),
                 (("--head", "f16", "--embd", "q5_k"), "head-f16-embd-q5_k", "f16 q5_k"),
                 (("--type", "stq1_0", "--embd", "q8_0"), "head-q6_k-embd-q8_0", "q6_k q8_0")]
        for args, suffix, types in cases:
            with self.subTest(args=args):
                done, calls, out = self.make(*args)
                self.assertEqual(done.returncode, 0, done.stderr)
                kind = "stq1_0" if "stq1_0" in args else "sherry"
                self.assertEqual(done.stdout.strip(),
                                 os.path.join(out, f"llama3.2-1b-shape-{kind}-{suffix}.gguf"))
                head, embd = types.split()
                self.assertIn(f"--output-type {head} --embd-type {embd}", self.quantize_call(calls))

    def test_bad_arguments_are_named(self):
        cases = [(("--bogus",), "make_bench_model.sh: unknown argument '--bogus'"),
                 (("--head", "q3_k"),
                  "make_bench_model.sh: --head: expected q4_k, q5_k, q6_k, q8_0 or f16, found 'q3_k'"),
                 (("--embd", "bf16"),
                  "make_bench_model.sh: --embd: expected q4_k, q5_k, q6_k, q8_0 or f16, found 'bf16'"),
                 (("--type", "tq2_0"), "make_bench_model.sh: --type: expected sherry or stq1_0, found 'tq2_0'")]
        for args, message in cases:
            with self.subTest(args=args):
                done, calls, _ = self.make(*args)
                self.assertEqual(done.returncode, 2)
                self.assertIn(message, done.stderr)
                self.assertEqual(calls, "")


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
