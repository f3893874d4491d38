// The sherry-bench program on a tiny model: llama-bench's markdown table and JSON lines (a row
// per test and thread count, mean ± deviation of the repetitions, load time and RSS beside),
// and its errors.
#include <sys/wait.h>

#include <algorithm>
#include <fstream>
#include <sstream>
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

Output run_bench(const std::string& args) {
  const std::string out_path = testing::temp_path("bench_stdout.txt");
  const std::string err_path = testing::temp_path("bench_stderr.txt");
  const std::string command = std::string("\"") + SHERRY_BENCH_PATH + "\" " + args + " >\"" +
                              out_path + "\" 2>\"" + err_path + "\"";
  const int raw = std::system(command.c_str());
  Output o;
  o.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  o.out = slurp(out_path);
  o.err = slurp(err_path);
  return o;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) result.push_back(line);
  return result;
}

std::string tiny_model() {
  testing::TinySpec spec;
  spec.format = testing::LinearFormat::kSherry;
  const std::string model = testing::temp_path("bench_tool.gguf");
  testing::write_tiny_llama(model, spec);
  return model;
}

TEST_CASE("sherry bench prints llama-bench's table with a row per test and thread count") {
  const std::string model = tiny_model();
  const Output o = run_bench("-m \"" + model + "\" -p 8,16 -n 4 -t 1,2 -r 2");
  INFO(o.err);
  REQUIRE(o.status == 0);
  const std::vector<std::string> rows = lines(o.out);
  REQUIRE(rows.size() >= 2 + 6);
  CHECK(rows[0].find("| model") == 0);
  CHECK(rows[0].find(" test |") != std::string::npos);
  CHECK(rows[1].size() == rows[0].size());  // the rule spans the header
  CHECK(rows[0].find("t/s") != std::string::npos);
  CHECK(rows[0].find("load s") != std::string::npos);
  CHECK(rows[0].find("RSS MiB") != std::string::npos);
  // Tests in llama-bench's order: the prompt sizes, then the generation lengths, per thread count.
  const char* expected[] = {" pp8 ", " pp16 ", " tg4 ", " pp8 ", " pp16 ", " tg4 "};
  for (int i = 0; i < 6; ++i) {
    const std::string& row = rows[2 + i];
    INFO(row);
    CHECK(row.find(expected[i]) != std::string::npos);
    CHECK(row.find(" ± ") != std::string::npos);
    CHECK(row.find(i < 3 ? "|       1 |" : "|       2 |") != std::string::npos);
  }
  CHECK(o.out.find("build: ") != std::string::npos);
}

TEST_CASE("sherry bench writes one json line per test with its samples") {
  const std::string model = tiny_model();
  const Output o = run_bench("-m \"" + model + "\" -p 8 -n 0 -t 2 -r 3 -o jsonl --no-warmup");
  INFO(o.err);
  REQUIRE(o.status == 0);
  const std::vector<std::string> rows = lines(o.out);
  REQUIRE(rows.size() == 1);
  const std::string& row = rows[0];
  for (const char* field :
       {"\"n_threads\": 2", "\"n_prompt\": 8", "\"n_gen\": 0",
        "\"avg_ts\": ", "\"stddev_ts\": ", "\"samples_ns\": [", "\"samples_ts\": [", "\"load_s\": ",
        "\"peak_rss_mib\": ", "\"model_filename\": \"bench_tool.gguf\"", "\"build_commit\": "}) {
    INFO(field);
    CHECK(row.find(field) != std::string::npos);
  }
  // Three samples: three values in each list.
  const size_t samples = row.find("\"samples_ts\": [");
  const std::string list = row.substr(samples, row.find(']', samples) - samples);
  CHECK(std::count(list.begin(), list.end(), ',') == 2);
}

TEST_CASE("sherry bench errors name the file or the flag") {
  const Output missing = run_bench("-m /nonexistent/model.gguf -p 8 -n 0 -r 1");
  CHECK(missing.status == 1);
  CHECK(missing.err.find("/nonexistent/model.gguf") != std::string::npos);
  const Output format = run_bench("-m x.gguf -o csv");
  CHECK(format.status == 2);
  CHECK(format.err.find("csv") != std::string::npos);
  const Output nothing = run_bench("-m x.gguf -p 0 -n 0");
  CHECK(nothing.status == 2);
  CHECK(nothing.err.find("-p and -n are both 0") != std::string::npos);
}

}  // namespace
}  // namespace sherry::runtime
