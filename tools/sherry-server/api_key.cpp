#include "tools/sherry-server/api_key.h"

#include <cstdint>

namespace sherry::server {

bool constant_time_equal(std::string_view given, std::string_view expected) {
  // Every byte of `expected` is compared with a byte of `given` (cycled when shorter), and the
  // lengths are folded in: no early exit.
  volatile uint8_t difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const uint8_t g = given.empty() ? 0 : static_cast<uint8_t>(given[i % given.size()]);
    difference = difference | static_cast<uint8_t>(g ^ static_cast<uint8_t>(expected[i]));
  }
  return difference == 0;
}

bool api_key_matches(std::string_view authorization, std::string_view key) {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return false;
  return constant_time_equal(authorization.substr(kBearer.size()), key);
}

}  // namespace sherry::server
