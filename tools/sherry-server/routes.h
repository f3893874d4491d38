// The HTTP surface of sherry-server on cpp-httplib:
//   POST /v1/chat/completions, /v1/completions   generation (JSON, or server-sent events)
//   GET  /v1/models                               the model
//   GET  /health                                  503 {"status": "loading"} → 200 {"status": "ok"}
//   GET  /metrics                                 Prometheus text
// (the same without /v1 too, as llama-server). Every error is OpenAI's JSON error object with a
// 4xx status for the client's mistakes: 400 bad request, 401 wrong API key, 404 unknown route,
// 405 wrong method (with Allow), 413 body over --max-body, 429 queue full (with Retry-After),
// 503 model still loading. The model loads after the socket listens, so /health answers at once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"
#include "runtime/chat_template.h"
#include "runtime/llama_model.h"
#include "tools/sherry-server/metrics.h"
#include "tools/sherry-server/request_parser.h"
#include "tools/sherry-server/server_options.h"
#include "tools/sherry-server/slot_scheduler.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sherry::server {

class Routes {
 public:
  explicit Routes(ServerOptions options);
  ~Routes();

  // Binds the listening socket; returns the port (the one chosen for --port 0). Errors name the
  // address.
  Result<int> bind();
  // Loads the model (and from then on serves generation requests); errors name the file.
  Status load_model(const std::string& path);
  // Serves until stop(); false when the server could not run.
  bool listen();
  // Stops listening and ends every request (thread-safe, from a signal thread).
  void stop();

 private:
  void register_routes();
  void completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  // The prompt's tokens and the generation parameters, or the error answering the request.
  std::optional<ApiError> prepare(const CompletionRequest& request, GenerationParams& out) const;
  bool authorized(const httplib::Request& req, httplib::Response& res) const;
  bool ready(httplib::Response& res) const;

  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  Metrics metrics_;
  std::unique_ptr<runtime::LlamaModel> model_;
  std::unique_ptr<runtime::ChatTemplate> chat_template_;
  std::unique_ptr<SlotScheduler> scheduler_;
  std::string model_name_;
  int64_t created_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stop_requested_{false};
  std::mutex lifecycle_;  // scheduler_ created by load_model, ended by stop()
  bool stopped_ = false;  // under lifecycle_
};

}  // namespace sherry::server
