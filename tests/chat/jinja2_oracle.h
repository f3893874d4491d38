// Test support: Python's jinja2 as the oracle of the Jinja engine. Runs
// tests/chat/render_with_jinja2.py with Debian's python3 (python3-jinja2) in Hugging Face's chat
// template environment and reads back its cases: [{name, template, context, output, error}].
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace sherry::jinja::testing {

// The date render_with_jinja2.py gives strftime_now (FIXED_NOW): 2024-07-26 12:00, a Friday.
inline std::tm oracle_now() {
  std::tm t{};
  t.tm_year = 2024 - 1900;
  t.tm_mon = 6;
  t.tm_mday = 26;
  t.tm_hour = 12;
  t.tm_wday = 5;
  t.tm_yday = 207;
  return t;
}

// Runs the oracle with `arguments` (its output file appended) and returns what it wrote.
inline nlohmann::ordered_json run_jinja2(const std::string& arguments) {
  namespace fs = std::filesystem;
  const fs::path out =
      fs::temp_directory_path() / ("sherry_jinja2_" + std::to_string(getpid()) + ".json");
  const std::string command = std::string(SHERRY_DEBIAN_PYTHON) + " \"" + SHERRY_SOURCE_DIR +
                              "/tests/chat/render_with_jinja2.py\" " + arguments + " \"" +
                              out.string() + "\"";
  REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "the jinja2 oracle failed: " << command);
  std::ifstream in(out, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  fs::remove(out);
  return nlohmann::ordered_json::parse(text);
}

}  // namespace sherry::jinja::testing
