// --api-key: the `Authorization: Bearer KEY` header checked in constant time (the time taken
// depends on the expected key's length only, never on how much of it a guess got right).
#pragma once

#include <string_view>

namespace sherry::server {

// True when `authorization` is "Bearer " followed by exactly `key`.
bool api_key_matches(std::string_view authorization, std::string_view key);

// Constant-time comparison of `given` against `expected`.
bool constant_time_equal(std::string_view given, std::string_view expected);

}  // namespace sherry::server
