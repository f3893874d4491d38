"""Converted checkpoints against code no one here wrote the conventions of: tiny random
LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM checkpoints in Hugging Face's layout
(hf_checkpoint.py, NumPy), converted by sherry-convert, must give the logits of an independent NumPy
forward in Hugging Face's convention (rotate_half RoPE on the unpermuted q/k weights) through
sherry's float path (sherry_logits); converted 1.25-bit Qwen3 and quantized Hunyuan-dense models
generate through sherry-run on the JIT kernels.

Tolerance, per position, on max|Δ logit| / max|logit|: 1e-4. The weights are identical on both
sides (the checkpoint's BF16/F16 values, converted exactly to F32/F16), so only sherry's F32
arithmetic separates them from NumPy's float64: each of the ≤ 256-term dot products, RMSNorms,
RoPE rotations and softmax sums rounds at 2^-24 ≈ 6e-8 relative per operation, ≤ 256 · 6e-8 ≈ 1.5e-5
in the worst case per matrix product, through 2 layers of 4 products and the head: ≤ 1e-4.
(Measured: ≈ 4e-7.) A q/k permutation left out, a NEOX/NORM mix-up or a missed bias or norm moves
the logits by O(1).

  /usr/bin/python3 tests/convert/convert_logits_test.py build/bin
"""

import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_checkpoint  # noqa: E402

BIN = sys.argv.pop(1) if len(sys.argv) > 1 else "build/bin"
TOLERANCE = 1e-4
TOKENS = [(i * 37 + 11) % 300 for i in range(24)]


def run(*args, check=True):
    # Generated text of random models is any bytes.
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            errors="replace")
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def sherry_logits(gguf, tokens):
    out = run(os.path.join(BIN, "sherry_logits"), gguf, *tokens).stdout
    return np.array([[float(v) for v in line.split()[2:]] for line in out.strip().split("\n")])


class ConvertedLogits(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def check(self, arch, dtype, out_type, **write):
        ckpt = os.path.join(self.dir, f"{arch}-{dtype}")
        hf_checkpoint.write_checkpoint(ckpt, arch, dtype, **write)
        gguf = ckpt + ".gguf"
        run(os.path.join(BIN, "sherry-convert"), ckpt, gguf, "--type", out_type)
        want = hf_checkpoint.logits(ckpt, TOKENS)
        got = sherry_logits(gguf, TOKENS)
        self.assertEqual(got.shape, want.shape)
        relative = np.abs(got - want).max(axis=1) / np.abs(want).max(axis=1)
        print(f"{arch} {dtype} → {out_type}: max |Δ logit| / max|logit| = {relative.max():.2e} "
              f"(bound {TOLERANCE:g})")
        self.assertLess(relative.max(), TOLERANCE)
        self.assertTrue((got.argmax(axis=1) == want.argmax(axis=1)).all())

    def test_llama_bf16_sharded_with_llama3_rope(self):
        self.check("llama", "bf16", "f32", shards=2)

    def test_llama_f32_untied(self):
        self.check("llama", "f32", "f32", seed=3)

    def test_qwen2_bf16_tied_with_biases(self):
        self.check("qwen2", "bf16", "f32", tied=True, shards=3)

    def test_qwen3_f16_wide_heads_and_qk_norms(self):
        self.check("qwen3", "f16", "f16")

    def test_qwen3_bf16_to_bf16(self):
        self.check("qwen3", "bf16", "bf16", seed=5)


class Generation(unittest.TestCase):
    """sherry-run generates from 1.25-bit models of the new architectures on the JIT kernels."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def generate(self, gguf):
        result = run(os.path.join(BIN, "sherry-run"), "-m", gguf, "-p", "the weather", "-n", "12",
                     "--temp", "0", "--ignore-eos", "-t", "2", "--kernels", "jit")
        self.assertIn("generation: 12 tokens", result.stderr)
        self.assertTrue(result.stdout.startswith("the weather"))
        kernel = result.stderr.split("kernels: ")[1].split(" ")[0]
        self.assertTrue(kernel.startswith("lut"), f"blk.0.attn_q ran on {kernel}, not a JIT kernel")
        return result

    def test_converted_qwen3_in_sherry_generates_on_the_jit(self):
        ckpt = os.path.join(self.dir, "qwen3")
        hf_checkpoint.write_checkpoint(ckpt, "qwen3", "bf16", training=True)
        gguf = ckpt + ".gguf"
        result = run(os.path.join(BIN, "sherry-convert"), ckpt, gguf, "--type", "sherry")
        self.assertEqual(result.stderr, "")  # trained 3:4 (the config says so): no warning
        generated = self.generate(gguf)
        self.assertIn("(qwen3 2 layers", generated.stderr)

    def test_quantized_hunyuan_dense_generates_on_the_jit(self):
        f16 = os.path.join(self.dir, "hunyuan-f16.gguf")
        sherry = os.path.join(self.dir, "hunyuan-sherry.gguf")
        run(os.path.join(BIN, "sherry-make-model"), f16, "--arch", "hunyuan-dense", "--hidden",
            "256", "--heads", "4", "--kv-heads", "2", "--ffn", "512", "--type", "f16")
        run(os.path.join(BIN, "sherry-quantize"), f16, sherry)
        generated = self.generate(sherry)
        self.assertIn("(hunyuan-dense 2 layers", generated.stderr)

    def test_untrained_models_convert_with_a_warning(self):
        ckpt = os.path.join(self.dir, "llama")
        hf_checkpoint.write_checkpoint(ckpt, "llama", "bf16")
        result = run(os.path.join(BIN, "sherry-convert"), ckpt, ckpt + ".gguf", "--group-size",
                     "64")
        self.assertIn("warning: config.json says nothing of 3:4 sparse ternary training",
                      result.stderr)
        self.assertIn("quantized tensors:", result.stdout)

    def test_bad_input_exits_1_and_a_bad_flag_2(self):
        result = run(os.path.join(BIN, "sherry-convert"), self.dir, os.path.join(self.dir, "o.gguf"),
                     check=False)
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith("error: "))
        self.assertIn("config.json", result.stderr)
        result = run(os.path.join(BIN, "sherry-convert"), self.dir, os.path.join(self.dir, "o.gguf"),
                     "--type", "q4", check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--type: expected sherry, stq1_0, f16, bf16 or f32, found 'q4'", result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
