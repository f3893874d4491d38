// The sherry-run program end to end on a tiny model: greedy generation is reproducible and the
// same on the JIT and the reference kernels, perplexity ends with its line, errors exit non-zero
// with a message naming the file.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

#include "tiny_llama.h"

namespace sherry::runtime {
namespace {

struct Output {
  int status = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `input` goes to the tool's stdin.
Output run_tool(const std::string& args, const std::string& input = "") {
  const std::string in_path = testing::temp_path("stdin.txt");
  std::ofstream(in_path, std::ios::binary) << input;
  const std::string out_path = testing::temp_path("stdout.txt");
  const std::string err_path = testing::temp_path("stderr.txt");
  const std::string command = std::string("\"") + SHERRY_RUN_PATH + "\" " + args + " <\"" +
                              in_path + "\" >\"" + out_path + "\" 2>\"" + err_path + "\"";
  const int raw = std::system(command.c_str());
  Output o;
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  o.out = slurp(out_path);
  o.err = slurp(err_path);
  return o;
}

TEST_CASE("sherry run generates greedily and reproducibly on both kernel backends") {
  testing::TinySpec spec;
  spec.format = testing::LinearFormat::kSherry;
  const std::string model = testing::temp_path("tool.gguf");
  testing::write_tiny_llama(model, spec);
  const std::string common = "-m \"" + model + "\" -p \"hello the world\" -n 12 --temp 0 -t 2";
  const Output jit = run_tool(common);
  INFO(jit.err);
  REQUIRE(jit.status == 0);
  CHECK(jit.out.rfind("hello the world", 0) == 0);
  CHECK(jit.out.size() > std::string("hello the world\n").size());
  CHECK(jit.err.find("generation: 12 tokens") != std::string::npos);
  CHECK(jit.err.find("prompt: ") != std::string::npos);
  CHECK(jit.err.find("load time = ") != std::string::npos);
  CHECK(jit.err.find("kernels: ") != std::string::npos);
  CHECK(jit.err.find("peak RSS = ") != std::string::npos);
  const Output again = run_tool(common);
  CHECK(again.out == jit.out);
  const Output ref = run_tool(common + " --kernels ref");
  REQUIRE(ref.status == 0);
  CHECK(ref.out == jit.out);
  CHECK(ref.err.find("reference") != std::string::npos);
  // Sampling with a seed is reproducible too.
  const std::string sampled = "-m \"" + model +
                              "\" -p hello -n 16 --temp 0.9 --top-k 20 --top-p 0.9 "
                              "--min-p 0.01 --repeat-penalty 1.1 --seed 7";
  CHECK(run_tool(sampled).out == run_tool(sampled).out);
}

TEST_CASE("sherry run prints perplexity as the last line") {
  const std::string model = testing::temp_path("ppl.gguf");
  testing::write_tiny_llama(model, testing::TinySpec{});
  const std::string text = testing::temp_path("ppl.txt");
  {
    std::ofstream out(text);
    for (int i = 0; i < 20; ++i) out << "hello the world on the sea of the old hills. ";
  }
  const Output o = run_tool("-m \"" + model + "\" -c 32 -b 16 --perplexity \"" + text + "\"");
  INFO(o.err);
  REQUIRE(o.status == 0);
  const size_t line = o.out.rfind("perplexity = ");
  REQUIRE(line != std::string::npos);
  const double value = std::stod(o.out.substr(line + 13));
  CHECK(value > 1.0);
  CHECK(o.out.find('\n', line) == o.out.size() - 1);
}

TEST_CASE("sherry run reports a bad model file and a bad flag with a non zero exit") {
  const std::string missing = testing::temp_path("nothing_here.gguf");
  const Output o = run_tool("-m \"" + missing + "\" -p hi");
  CHECK(o.status == 1);
  CHECK(o.err.find("error: ") != std::string::npos);
  CHECK(o.err.find(missing) != std::string::npos);
  const Output flag = run_tool("--kernels fast");
  CHECK(flag.status == 2);
  const Output grouping = run_tool("--stq1-0-grouping zigzag");
  CHECK(grouping.status == 2);
  CHECK(grouping.err.find("--stq1-0-grouping") != std::string::npos);
}

TEST_CASE("sherry run reads stq1_0 blocks with the grouping the option gives") {
  testing::TinySpec spec;
  spec.format = testing::LinearFormat::kStq1_0;
  spec.hidden = 256;
  spec.ffn = 512;
  spec.stq1_0_grouping = BlockGrouping::kContiguous;
  spec.declare_stq1_0_grouping = false;
  const std::string model = testing::temp_path("stq_tool.gguf");
  testing::write_tiny_llama(model, spec);
  const std::string common = "-m \"" + model + "\" -p \"hello the world\" -n 6 --temp 0 -t 2";
  const Output strided = run_tool(common);
  const Output contiguous = run_tool(common + " --stq1-0-grouping contiguous");
  REQUIRE(strided.status == 0);
  REQUIRE(contiguous.status == 0);
  // The same file read two ways: different weights, different logits (the library tests check
  // which one is right).
  CHECK(strided.out != contiguous.out);
}

TEST_CASE("sherry run without a model says how to get the default one") {
  const std::string missing = testing::temp_path("no_default.gguf");
  setenv("SHERRY_MODEL", missing.c_str(), 1);
  const Output o = run_tool("-p hi");
  unsetenv("SHERRY_MODEL");
  CHECK(o.status == 1);
  CHECK(o.err.find(missing) != std::string::npos);
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST_CASE("sherry run chats through the chat template until exit") {
  const std::string model = testing::temp_path("chat.gguf");
  testing::TinySpec spec;
  spec.context = 512;  // ChatML is long in the tiny vocabulary's bytes
  testing::write_tiny_llama(model, spec);
  const std::string flags = "-m \"" + model + "\" -t 1 --temp 0 -n 6 --ignore-eos --verbose-prompt";
  const Output o =
      run_tool("-cnv -sys \"Be brief.\" " + flags, "hello\nthe world\n/exit\nnever read\n");
  INFO(o.err);
  REQUIRE(o.status == 0);
  CHECK(o.out.rfind("> ", 0) == 0);
  CHECK(count(o.out, "> ") == 3);  // two turns, then /exit
  // ChatML (the file has no template), the system prompt, and the first reply in the second turn.
  CHECK(o.err.find("prompt: <|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello"
                   "<|im_end|>\n<|im_start|>assistant\n") != std::string::npos);
  const size_t second = o.err.rfind("prompt: ");
  REQUIRE(second != std::string::npos);
  const std::string reply = o.out.substr(2, o.out.find('\n') - 2);
  CHECK(o.err.find("<|im_start|>assistant\n" + reply + "<|im_end|>\n<|im_start|>user\nthe world",
                   second) != std::string::npos);
  CHECK(o.err.find("never read") == std::string::npos);
  // Greedy replies are reproducible.
  CHECK(run_tool("-cnv -sys \"Be brief.\" " + flags, "hello\nthe world\n/exit\n").out == o.out);
  // A conversation that outgrows the context ends with an error.
  const Output full = run_tool("-cnv -c 40 " + flags, "hello\n");
  CHECK(full.status == 1);
  CHECK(full.err.find("more than the context of 40 (raise -c)") != std::string::npos);
}

TEST_CASE("sherry run chats with the model's own template and ends at the end of its input") {
  testing::TinySpec spec;
  spec.context = 256;
  spec.chat_template =
      "{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}{% endfor %}"
      "{% if add_generation_prompt %}[assistant] {% endif %}";
  const std::string model = testing::temp_path("own_template.gguf");
  testing::write_tiny_llama(model, spec);
  const Output o = run_tool(
      "--conversation --system-prompt S -m \"" + model + "\" -t 1 --temp 0 -n 4 --verbose-prompt",
      "hi\n");
  INFO(o.err);
  REQUIRE(o.status == 0);
  CHECK(o.err.find("prompt: [system] S</s>[user] hi</s>[assistant] ") != std::string::npos);
  CHECK(count(o.out, "> ") == 2);
}

}  // namespace
}  // namespace sherry::runtime
