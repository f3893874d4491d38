"""A tiny random Hugging Face checkpoint (LlamaForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM)
written with NumPy alone, and an independent NumPy forward pass in the Hugging Face convention
(the modeling_*.py files of transformers, re-implemented: rotate_half RoPE on the unpermuted q/k
weights, GQA by repeating k/v heads, Qwen2's q/k/v biases, Qwen3's per-head q/k RMSNorm before
RoPE, Llama 3.1's RoPE frequency scaling), to check sherry-convert and the runtime against.

Run with Debian's /usr/bin/python3 (python3-numpy). As a library: write_checkpoint(), logits().
As a program:
  hf_checkpoint.py write DIR --arch llama [--dtype bf16] [--shards 2] [--tied] [--seed 1]
  hf_checkpoint.py logits DIR TOKEN...   # one line per position: "t argmax logit..."
"""

import argparse
import json
import math
import os
import struct

import numpy as np

# GPT-2's byte ↔ printable code point map (byte-level BPE vocabularies store tokens this way).
def _bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


BYTE_CHAR = _bytes_to_unicode()

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

ARCHITECTURES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM",
                 "qwen3": "Qwen3ForCausalLM"}


def to_bf16_bits(x):
    """float32 → bfloat16 bits, round to nearest even (as torch does)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16_bits(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def stored(x, dtype):
    """The array as the checkpoint stores it (bytes) and the float64 values it stands for."""
    if dtype == "f32":
        a = x.astype(np.float32)
        return a.tobytes(), a.astype(np.float64), "F32"
    if dtype == "f16":
        a = x.astype(np.float16)
        return a.tobytes(), a.astype(np.float64), "F16"
    bits = to_bf16_bits(x)
    return bits.tobytes(), from_bf16_bits(bits).astype(np.float64), "BF16"


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, bytes), written in that order."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)


def spec_for(arch, tied=False, training=False, hidden=64):
    spec = {"arch": arch, "hidden": hidden, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 2 * hidden,
            "vocab": 320, "context": 128, "rope_theta": 10000.0, "eps": 1e-5, "tied": tied,
            "head_dim": None, "rope_scaling": None, "training": training}
    if arch == "llama":
        spec["rope_theta"] = 500000.0
        spec["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
    if arch == "qwen3":
        spec["head_dim"] = hidden // 2  # 4 heads of hidden/2: q twice as wide as the hidden size
    return spec


def tokenizer_files(arch, vocab_size):
    """A byte-level BPE tokenizer.json: the 256 byte tokens, a few merges, two special tokens."""
    vocab = {BYTE_CHAR[b]: b for b in range(256)}
    merges = []
    for word in ["Ġt", "he", "Ġthe", "in", "Ġa", "er", "on", "Ġs", "at", "Ġw"]:
        # The merges that build the word left to right.
        left = word[0]
        for ch in word[1:]:
            right = ch
            merges.append([left, right])
            left = left + right
            vocab.setdefault(left, len(vocab))
    specials = ["<|begin_of_text|>", "<|end_of_text|>"]
    added = [{"id": len(vocab) + i, "content": s, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True} for i, s in enumerate(specials)]
    assert len(vocab) + len(specials) <= vocab_size
    regex = LLAMA3_REGEX if arch == "llama" else QWEN2_REGEX
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None if arch == "llama" else {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": arch == "llama",
                  "vocab": vocab, "merges": merges},
    }
    config = {"bos_token": specials[0], "eos_token": specials[1], "add_bos_token": arch == "llama",
              "chat_template": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    return tokenizer, config, len(vocab)  # bos id = len(vocab)


def make_weights(spec, seed):
    rng = np.random.default_rng(seed)
    h, hd = spec["hidden"], spec["head_dim"] or spec["hidden"] // spec["heads"]
    qd, kvd, f = spec["heads"] * hd, spec["kv_heads"] * hd, spec["ffn"]
    w = {"model.embed_tokens.weight": rng.normal(0, 1, (spec["vocab"], h))}
    for l in range(spec["layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = rng.uniform(0.8, 1.2, h)
        w[p + "self_attn.q_proj.weight"] = rng.normal(0, h ** -0.5, (qd, h))
        w[p + "self_attn.k_proj.weight"] = rng.normal(0, h ** -0.5, (kvd, h))
        w[p + "self_attn.v_proj.weight"] = rng.normal(0, h ** -0.5, (kvd, h))
        if spec["arch"] == "qwen2":
            w[p + "self_attn.q_proj.bias"] = rng.normal(0, 0.5, qd)
            w[p + "self_attn.k_proj.bias"] = rng.normal(0, 0.5, kvd)
            w[p + "self_attn.v_proj.bias"] = rng.normal(0, 0.5, kvd)
        if spec["arch"] == "qwen3":
            w[p + "self_attn.q_norm.weight"] = rng.uniform(0.8, 1.2, hd)
            w[p + "self_attn.k_norm.weight"] = rng.uniform(0.8, 1.2, hd)
        w[p + "self_attn.o_proj.weight"] = rng.normal(0, qd ** -0.5, (h, qd))
        w[p + "post_attention_layernorm.weight"] = rng.uniform(0.8, 1.2, h)
        w[p + "mlp.gate_proj.weight"] = rng.normal(0, h ** -0.5, (f, h))
        w[p + "mlp.up_proj.weight"] = rng.normal(0, h ** -0.5, (f, h))
        w[p + "mlp.down_proj.weight"] = rng.normal(0, f ** -0.5, (h, f))
    w["model.norm.weight"] = rng.uniform(0.8, 1.2, h)
    if not spec["tied"]:
        w["lm_head.weight"] = rng.normal(0, h ** -0.5, (spec["vocab"], h))
    return w


def write_checkpoint(directory, arch="llama", dtype="bf16", shards=1, tied=False, seed=1,
                     training=False, extra_tensors=(), hidden=64):
    """Writes the folder; returns the float64 weights the files hold (after dtype rounding)."""
    spec = spec_for(arch, tied, training, hidden)
    os.makedirs(directory, exist_ok=True)
    weights = make_weights(spec, seed)
    exact, entries = {}, []
    for name, value in list(weights.items()) + list(extra_tensors):
        data, values, dt = stored(np.asarray(value), dtype)
        exact[name] = values
        entries.append((name, dt, value.shape, data))
    if shards == 1:
        write_safetensors(os.path.join(directory, "model.safetensors"), entries)
    else:
        weight_map, per = {}, math.ceil(len(entries) / shards)
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = entries[s * per:(s + 1) * per]
            write_safetensors(os.path.join(directory, file), part)
            weight_map.update({name: file for name, _, _, _ in part})
        with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": sum(len(e[3]) for e in entries)},
                       "weight_map": weight_map}, f, indent=2)
    tokenizer, tokenizer_config, bos = tokenizer_files(arch, spec["vocab"])
    config = {
        "architectures": [ARCHITECTURES[arch]], "model_type": arch,
        "hidden_size": spec["hidden"], "intermediate_size": spec["ffn"],
        "num_hidden_layers": spec["layers"], "num_attention_heads": spec["heads"],
        "num_key_value_heads": spec["kv_heads"], "vocab_size": spec["vocab"],
        "max_position_embeddings": spec["context"], "rms_norm_eps": spec["eps"],
        "rope_theta": spec["rope_theta"], "rope_scaling": spec["rope_scaling"],
        "tie_word_embeddings": tied, "hidden_act": "silu", "bos_token_id": bos,
        "eos_token_id": bos + 1, "torch_dtype": {"f32": "float32", "f16": "float16",
                                                 "bf16": "bfloat16"}[dtype],
    }
    if spec["head_dim"]:
        config["head_dim"] = spec["head_dim"]
    if arch == "qwen2":
        config["use_sliding_window"] = False
    if training:  # AngelSlim's Sherry fields (train_llama.py copies its arguments here)
        config.update({"w_bits": 0, "quant_method": "sherry", "granularity": "per_group",
                       "group_size": 64, "enable_zero_point": False, "N": 3, "M": 4})
    for name, content in [("config.json", config), ("tokenizer.json", tokenizer),
                          ("tokenizer_config.json", tokenizer_config)]:
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            json.dump(content, f, ensure_ascii=False, indent=1)
    return spec, exact


def read_checkpoint(directory):
    """The config and float64 weights of a folder write_checkpoint wrote."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    files = [n for n in os.listdir(directory) if n.endswith(".safetensors")]
    weights = {}
    for name in files:
        with open(os.path.join(directory, name), "rb") as f:
            blob = f.read()
        n = struct.unpack("<Q", blob[:8])[0]
        header = json.loads(blob[8:8 + n])
        data = blob[8 + n:]
        for tname, info in header.items():
            if tname == "__metadata__":
                continue
            begin, end = info["data_offsets"]
            raw = np.frombuffer(data[begin:end], dtype={"F32": np.float32, "F16": np.float16,
                                                         "BF16": np.uint16}[info["dtype"]])
            values = from_bf16_bits(raw) if info["dtype"] == "BF16" else raw
            weights[tname] = values.astype(np.float64).reshape(info["shape"])
    return config, weights


def rope_inv_freq(config, head_dim):
    """transformers' default inverse frequencies, with the llama3 rule when configured."""
    base = config.get("rope_theta", 10000.0)
    inv = 1.0 / base ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    scaling = config.get("rope_scaling")
    if scaling and scaling.get("rope_type", scaling.get("type")) == "llama3":
        factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        old = scaling["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = np.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        inv = np.where(medium, smoothed, scaled)
    return inv


def rms_norm(x, w, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def logits(directory, tokens):
    """(len(tokens), vocab) logits of a full causal pass, float64."""
    config, w = read_checkpoint(directory)
    arch = {v: k for k, v in ARCHITECTURES.items()}[config["architectures"][0]]
    h, heads, kv = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    hd = config.get("head_dim") or h // heads
    eps = config["rms_norm_eps"]
    n = len(tokens)
    angles = np.outer(np.arange(n, dtype=np.float64), rope_inv_freq(config, hd))
    emb = np.concatenate([angles, angles], axis=-1)  # (n, hd)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    x = w["model.embed_tokens.weight"][tokens]
    mask = np.triu(np.full((n, n), -np.inf), k=1)
    for l in range(config["num_hidden_layers"]):
        p = f"model.layers.{l}."
        xn = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = xn @ w[p + "self_attn.q_proj.weight"].T
        k = xn @ w[p + "self_attn.k_proj.weight"].T
        v = xn @ w[p + "self_attn.v_proj.weight"].T
        if arch == "qwen2":
            q, k, v = (q + w[p + "self_attn.q_proj.bias"], k + w[p + "self_attn.k_proj.bias"],
                       v + w[p + "self_attn.v_proj.bias"])
        q, k, v = q.reshape(n, heads, hd), k.reshape(n, kv, hd), v.reshape(n, kv, hd)
        if arch == "qwen3":
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], eps)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], eps)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = heads // kv
        out = np.empty((n, heads, hd))
        for head in range(heads):
            scores = q[:, head] @ k[:, head // group].T / math.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            out[:, head] = (scores / scores.sum(axis=-1, keepdims=True)) @ v[:, head // group]
        x = x + out.reshape(n, heads * hd) @ w[p + "self_attn.o_proj.weight"].T
        xn = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = xn @ w[p + "mlp.gate_proj.weight"].T
        up = xn @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "mlp.down_proj.weight"].T
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return rms_norm(x, w["model.norm.weight"], eps) @ head.T


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    write = sub.add_parser("write")
    write.add_argument("dir")
    write.add_argument("--arch", default="llama", choices=sorted(ARCHITECTURES))
    write.add_argument("--dtype", default="bf16", choices=["f32", "f16", "bf16"])
    write.add_argument("--shards", type=int, default=1)
    write.add_argument("--tied", action="store_true")
    write.add_argument("--training", action="store_true", help="AngelSlim's Sherry QAT fields")
    write.add_argument("--seed", type=int, default=1)
    write.add_argument("--hidden", type=int, default=64, help="hidden size (a multiple of 8)")
    run = sub.add_parser("logits")
    run.add_argument("dir")
    run.add_argument("tokens", type=int, nargs="+")
    args = parser.parse_args()
    if args.command == "write":
        write_checkpoint(args.dir, args.arch, args.dtype, args.shards, args.tied, args.seed,
                         args.training, hidden=args.hidden)
    else:
        for t, row in enumerate(logits(args.dir, args.tokens)):
            print(t, int(np.argmax(row)), " ".join(f"{v:.7g}" for v in row))


if __name__ == "__main__":
    main()
