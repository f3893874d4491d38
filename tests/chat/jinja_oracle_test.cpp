// The Jinja engine against Python's jinja2 (the oracle: tests/chat/render_with_jinja2.py, run with
// Debian's python3-jinja2 in Hugging Face's chat template environment) on the templates
// llama.cpp's own test suite lists: the inline cases of tests/test-chat-template.cpp (with their
// six-message conversation) and every models/templates/*.jinja file (with a short conversation,
// the six messages with a system prompt, and a tool call with a tool list). Where jinja2 renders,
// the output must be the same byte for byte; where it raises (raise_exception, an undefined value
// used, a type error), the engine must fail too. The templates the engine does not support are
// listed below with the reason, and must still fail, so the list cannot rot.
#include <filesystem>
#include <set>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "jinja2_oracle.h"
#include "runtime/jinja/template.h"
#include "testing/skip.h"

namespace sherry::jinja {
namespace {

namespace fs = std::filesystem;

// Cases (template file or test case name, with the conversation suffix) the engine does not
// render as jinja2 does, and why. Empty when every case matches.
const std::set<std::string> kUnsupported = {};

// The families the issue names must render exactly.
const std::vector<std::string> kRequired = {
    "Llama-3",
    "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "meta-llama-Llama-3.3-70B-Instruct.jinja",
    "teknium/OpenHermes-2.5-Mistral-7B",  // ChatML
    "Qwen-Qwen2.5-7B-Instruct.jinja",
    "Qwen-Qwen3-0.6B.jinja",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "Mistral-Small-3.2-24B-Instruct-2506.jinja",
    "Phi-3-mini",
    "microsoft-Phi-3.5-mini-instruct.jinja",
    "google/gemma-7b-it",
    "google-gemma-2-2b-it.jinja",
    "tencent-Hy3.jinja",  // Hunyuan
};

TEST_CASE("chat templates render as python's jinja2 does on llama.cpp's template collection") {
  const fs::path src = fs::path(SHERRY_SOURCE_DIR) / ".cache" / "llama.cpp" / "src";
  if (!fs::exists(src / "tests" / "test-chat-template.cpp")) {
    SHERRY_SKIP(
        src.string() << " has no tests/test-chat-template.cpp (run scripts/fetch_llama_cpp.sh)");
  }
  const auto cases = testing::run_jinja2("\"" + src.string() + "\"");
  REQUIRE(cases.size() > 200);

  std::set<std::string> mismatched;
  int rendered = 0;
  int raised = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"];
    auto parsed = Template::parse(c["template"].get<std::string>(), name);
    Result<std::string> output =
        parsed ? parsed->render(Value::from_json(c["context"]), testing::oracle_now())
               : Result<std::string>(parsed.error());
    bool same = false;
    if (c["output"].is_string()) {
      same = output.ok() && *output == c["output"].get<std::string>();
      if (!same && kUnsupported.count(name) == 0) {
        INFO("case: ", name);
        INFO("jinja2: ", c["output"].get<std::string>());
        CHECK_MESSAGE(output.ok(), (output.ok() ? "" : output.error().message()));
        if (output.ok()) CHECK(*output == c["output"].get<std::string>());
      }
      ++rendered;
    } else {
      same = !output.ok();
      if (!same && kUnsupported.count(name) == 0) {
        INFO("case: ", name);
        FAIL_CHECK("jinja2 raised (" << c["error"].get<std::string>()
                                     << ") but the engine rendered:\n"
                                     << *output);
      }
      ++raised;
    }
    if (!same) mismatched.insert(name);
  }
  MESSAGE(rendered << " cases rendered by jinja2, " << raised << " raised; " << mismatched.size()
                   << " differ (listed as unsupported: " << kUnsupported.size() << ")");
  for (const std::string& name : kUnsupported) {
    INFO("listed as unsupported but now matches jinja2 (remove it from kUnsupported): ", name);
    CHECK(mismatched.count(name) == 1);
  }
  for (const std::string& family : kRequired) {
    bool found = false;
    for (const auto& c : cases) {
      const std::string name = c["name"];
      if (name.rfind(family, 0) != 0) continue;
      found = true;
      INFO("a required template family differs from jinja2: ", name);
      CHECK(mismatched.count(name) == 0);
    }
    INFO("required template missing from llama.cpp's collection: ", family);
    CHECK(found);
  }
}

}  // namespace
}  // namespace sherry::jinja
