// An error answered to an HTTP client, in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// with the HTTP status it goes with (4xx for the client's mistakes, 5xx for the server's).
#pragma once

#include <string>

namespace sherry::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the request field at fault, "" when none
  std::string code;   // a stable machine-readable reason, "" when none

  std::string to_json() const;
};

// 400 invalid_request_error naming the field.
ApiError bad_request(std::string param, std::string message, std::string code = "");

}  // namespace sherry::server
