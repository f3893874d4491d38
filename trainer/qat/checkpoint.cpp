#include "trainer/qat/checkpoint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "trainer/corpus/file_io.h"
#include "trainer/corpus/token_shards.h"

namespace sherry::train {
namespace {

constexpr char kMagic[8] = {'S', 'H', 'R', 'Y', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;
constexpr size_t kFixedHeader = 24;

template <class T>
void put(std::vector<uint8_t>& out, const T& value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

template <class T>
T get(const std::vector<uint8_t>& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

// Parses "ckpt_<step>.bin"; -1 otherwise.
int64_t checkpoint_step(const std::string& file_name) {
  if (file_name.size() != 17 || file_name.rfind("ckpt_", 0) != 0 || file_name.substr(13) != ".bin")
    return -1;
  int64_t step = 0;
  for (size_t i = 5; i < 13; ++i) {
    if (file_name[i] < '0' || file_name[i] > '9') return -1;
    step = step * 10 + (file_name[i] - '0');
  }
  return step;
}

std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const int64_t step = checkpoint_step(entry.path().filename().string());
    if (step >= 0 && entry.is_regular_file()) found.emplace_back(step, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::vector<uint8_t> serialize_checkpoint(const Checkpoint& c) {
  SHERRY_CHECK(c.adam_m.size() == c.params.size() && c.adam_v.size() == c.params.size());
  const nlohmann::json header = {{"step", c.step},
                                 {"rng_state", c.rng_state},
                                 {"tokens_seen", c.tokens_seen},
                                 {"parameter_count", c.params.size()},
                                 {"config", c.config}};
  const std::string text = header.dump();
  std::vector<uint8_t> out;
  out.reserve(kFixedHeader + text.size() + 3 * c.params.size() * sizeof(float) + 8);
  out.resize(8);  // (resize + memcpy: GCC 12 misreports insert() from a char array)
  std::memcpy(out.data(), kMagic, 8);
  put(out, kVersion);
  put(out, uint32_t{0});
  put(out, static_cast<uint64_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
  for (const auto* v : {&c.params, &c.adam_m, &c.adam_v}) {
    const auto* p = reinterpret_cast<const uint8_t*>(v->data());
    out.insert(out.end(), p, p + v->size() * sizeof(float));
  }
  put(out, corpus::fnv1a64(out));
  return out;
}

Result<Checkpoint> parse_checkpoint(const std::vector<uint8_t>& bytes, const std::string& name) {
  if (bytes.size() < kFixedHeader + 8)
    return make_error("{}: checkpoint of {} bytes is shorter than the {}-byte minimum", name,
                      bytes.size(), kFixedHeader + 8);
  if (std::memcmp(bytes.data(), kMagic, 8) != 0)
    return make_error("{}: checkpoint magic must be \"SHRYCKPT\", found \"{}\"", name,
                      std::string(reinterpret_cast<const char*>(bytes.data()), 8));
  const uint32_t version = get<uint32_t>(bytes, 8);
  if (version != kVersion)
    return make_error("{}: checkpoint version must be {}, found {}", name, kVersion, version);
  const uint64_t stored_sum = get<uint64_t>(bytes, bytes.size() - 8);
  const uint64_t sum = corpus::fnv1a64({bytes.data(), bytes.size() - 8});
  if (stored_sum != sum)
    return make_error(
        "{}: checkpoint checksum must be {:#018x}, found {:#018x} (truncated or corrupted)", name,
        sum, stored_sum);
  const uint64_t header_bytes = get<uint64_t>(bytes, 16);
  if (header_bytes > bytes.size() - kFixedHeader - 8)
    return make_error("{}: checkpoint header of {} bytes runs past the end of the {}-byte file",
                      name, header_bytes, bytes.size());
  nlohmann::json header;
  try {
    header =
        nlohmann::json::parse(bytes.begin() + kFixedHeader,
                              bytes.begin() + kFixedHeader + static_cast<int64_t>(header_bytes));
  } catch (const nlohmann::json::exception& e) {
    return make_error("{}: checkpoint header is not valid JSON: {}", name, e.what());
  }
  Checkpoint c;
  uint64_t count = 0;
  try {
    c.step = header.at("step").get<int64_t>();
    c.rng_state = header.at("rng_state").get<uint64_t>();
    c.tokens_seen = header.at("tokens_seen").get<int64_t>();
    count = header.at("parameter_count").get<uint64_t>();
    c.config = header.at("config");
  } catch (const nlohmann::json::exception& e) {
    return make_error("{}: checkpoint header {} lacks a field or has a wrong type: {}", name,
                      header.dump(), e.what());
  }
  const uint64_t payload = bytes.size() - kFixedHeader - header_bytes - 8;
  if (count > payload / (3 * sizeof(float)) || payload != count * 3 * sizeof(float))
    return make_error("{}: checkpoint holds {} payload bytes, parameter_count {} needs {}", name,
                      payload, count, count * 3 * sizeof(float));
  size_t offset = kFixedHeader + header_bytes;
  for (auto* v : {&c.params, &c.adam_m, &c.adam_v}) {
    v->resize(count);
    std::memcpy(v->data(), bytes.data() + offset, count * sizeof(float));
    offset += count * sizeof(float);
  }
  return c;
}

Status write_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  return corpus::write_file_atomic(path, serialize_checkpoint(checkpoint));
}

Result<Checkpoint> read_checkpoint(const std::string& path) {
  auto bytes = corpus::read_file_bytes(path);
  if (!bytes.ok()) return bytes.error();
  return parse_checkpoint(*bytes, path);
}

std::string checkpoint_path(const std::string& dir, int64_t step) {
  return fmt::format("{}/ckpt_{:08d}.bin", dir, step);
}

std::optional<std::string> latest_checkpoint(const std::string& dir) {
  auto found = list_checkpoints(dir);
  if (found.empty()) return std::nullopt;
  return found.back().second;
}

void prune_checkpoints(const std::string& dir, int keep) {
  auto found = list_checkpoints(dir);
  std::error_code ec;
  for (size_t i = 0; i + keep < found.size(); ++i) std::filesystem::remove(found[i].second, ec);
}

}  // namespace sherry::train
