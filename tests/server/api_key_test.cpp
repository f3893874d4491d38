// --api-key: the Bearer header against the key, compared without an early exit.
#include <doctest/doctest.h>

#include "tools/sherry-server/api_key.h"

namespace sherry::server {
namespace {

TEST_CASE("the api key must come as a bearer token and match exactly") {
  CHECK(api_key_matches("Bearer s3cret", "s3cret"));
  CHECK_FALSE(api_key_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(api_key_matches("Bearer s3cret!", "s3cret"));
  CHECK_FALSE(api_key_matches("Bearer S3cret", "s3cret"));  // each position counts
  CHECK_FALSE(api_key_matches("Bearer s3creT", "s3cret"));
  CHECK_FALSE(api_key_matches("Bearer s3Cret", "s3cret"));
  CHECK_FALSE(api_key_matches("s3cret", "s3cret"));
  CHECK_FALSE(api_key_matches("Basic s3cret", "s3cret"));
  CHECK_FALSE(api_key_matches("", "s3cret"));
  CHECK_FALSE(api_key_matches("Bearer ", "s3cret"));
  CHECK(constant_time_equal("", ""));
  CHECK_FALSE(constant_time_equal("a", ""));
  CHECK_FALSE(constant_time_equal("", "a"));
  CHECK_FALSE(constant_time_equal("abab", "ab"));  // a cycled prefix is not a match
  CHECK_FALSE(constant_time_equal("ab", "abab"));
}

}  // namespace
}  // namespace sherry::server
