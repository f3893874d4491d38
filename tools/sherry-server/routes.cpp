#include "tools/sherry-server/routes.h"

#include <chrono>
#include <filesystem>
#include <random>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tools/sherry-server/api_key.h"
#include "tools/sherry-server/responses.h"
#include "tools/sherry-server/sse_stream.h"

namespace sherry::server {
namespace {

using Json = nlohmann::ordered_json;

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(e.to_json(), "application/json");
}

void send_json(httplib::Response& res, const Json& json, int status = 200) {
  res.status = status;
  res.set_content(json_text(json), "application/json");
}

ApiError error_for_status(int status, const httplib::Request& req, int64_t max_body) {
  ApiError e;
  e.status = status;
  switch (status) {
    case 404:
      e.type = "not_found_error";
      e.message = fmt::format(
          "{} {}: expected one of POST /v1/chat/completions, POST "
          "/v1/completions, GET /v1/models, GET /health, GET /metrics, found "
          "no such route",
          req.method, req.path);
      e.code = "unknown_route";
      break;
    case 413:
      e.message =
          fmt::format("request body: expected at most {} bytes (--max-body), found more", max_body);
      e.code = "body_too_large";
      break;
    case 400:
      e.message = "request: expected an HTTP/1.1 request, found one that does not parse";
      break;
    default:
      e.type = status >= 500 ? "server_error" : "invalid_request_error";
      e.message = fmt::format("HTTP status {}", status);
  }
  return e;
}

// The route in metrics: a known one, or "other" (so unknown paths cannot grow the label set).
std::string route_label(const std::string& path) {
  static const char* const kKnown[] = {
      "/v1/chat/completions", "/v1/completions", "/v1/models", "/chat/completions",
      "/completions",         "/models",         "/health",    "/metrics"};
  for (const char* known : kKnown) {
    if (path == known) return path;
  }
  return "other";
}

}  // namespace

Routes::Routes(ServerOptions options)
    : options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  // Each waiting request holds an HTTP thread: room for every slot, the whole queue, and more
  // for /health, /metrics and the requests answered 429.
  const auto threads = static_cast<size_t>(options_.slots + options_.max_queue + 16);
  // httplib calls this once listen() runs: a stop() that came before (a model that failed to
  // load at once) found nothing to stop, so it is done here.
  http_->new_task_queue = [this, threads] {
    if (stop_requested_) http_->stop();
    return new httplib::ThreadPool(threads);
  };
  http_->set_payload_max_length(static_cast<size_t>(options_.max_body));
  http_->set_read_timeout(options_.timeout_s, 0);
  http_->set_write_timeout(options_.timeout_s, 0);
  http_->set_tcp_nodelay(true);
  const int64_t max_body = options_.max_body;
  http_->set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a route's own error
    send_error(res, error_for_status(res.status, req, max_body));
  });
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          what = ex.what();
        } catch (...) {
        }
        ApiError error;
        error.status = 500;
        error.type = "server_error";
        error.message = "internal error: " + what;
        send_error(res, error);
      });
  // Counted as the answer's headers go out (httplib's logger runs after the body: a client could
  // read /metrics before its own last request was counted).
  http_->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    metrics_.request_answered(route_label(req.path), res.status);
    fmt::print(stderr, "{} {} {}\n", req.method, req.path, res.status);
  });
  register_routes();
}

Routes::~Routes() {
  stop();
}

void Routes::register_routes() {
  using httplib::Request;
  using httplib::Response;
  auto chat = [this](const Request& req, Response& res) { completion(req, res, Endpoint::kChat); };
  auto text = [this](const Request& req, Response& res) {
    completion(req, res, Endpoint::kCompletion);
  };
  auto models = [this](const Request& req, Response& res) {
    if (!authorized(req, res) || !ready(res)) return;
    Json model;
    model["id"] = model_name_;
    model["object"] = "model";
    model["created"] = created_;
    model["owned_by"] = "sherry";
    const runtime::LlamaConfig& c = model_->config();
    model["meta"] = {{"n_ctx_train", c.context}, {"n_ctx_slot", model_->context()},
                     {"n_vocab", c.vocab},       {"n_layers", c.layers},
                     {"n_embd", c.hidden},       {"slots", model_->sequences()}};
    send_json(res, Json{{"object", "list"}, {"data", Json::array({model})}});
  };
  auto health = [this](const Request&, Response& res) {
    if (!ready_) return send_json(res, Json{{"status", "loading"}}, 503);
    const SchedulerGauges g = scheduler_->gauges();
    send_json(res, Json{{"status", "ok"},
                        {"slots_idle", g.slots - g.busy_slots},
                        {"slots_processing", g.busy_slots},
                        {"queue_depth", g.queued}});
  };
  auto metrics = [this](const Request&, Response& res) {
    const SchedulerGauges g = ready_ ? scheduler_->gauges() : SchedulerGauges{options_.slots, 0, 0};
    res.set_content(metrics_.prometheus(g), "text/plain; version=0.0.4; charset=utf-8");
  };
  struct Route {
    const char* path;
    const char* method;
    httplib::Server::Handler handler;
  };
  const Route routes[] = {
      {"/v1/chat/completions", "POST", chat},
      {"/chat/completions", "POST", chat},
      {"/v1/completions", "POST", text},
      {"/completions", "POST", text},
      {"/v1/models", "GET", models},
      {"/models", "GET", models},
      {"/health", "GET", health},
      {"/v1/health", "GET", health},
      {"/metrics", "GET", metrics},
  };
  for (const Route& r : routes) {
    const std::string method = r.method;
    auto wrong_method = [method](const Request& req, Response& res) {
      res.set_header("Allow", method);
      ApiError e;
      e.status = 405;
      e.message = fmt::format("{}: expected the method {}, found {}", req.path, method, req.method);
      e.code = "method_not_allowed";
      send_error(res, e);
    };
    if (method == "POST") {
      http_->Post(r.path, r.handler);
      http_->Get(r.path, wrong_method);
    } else {
      http_->Get(r.path, r.handler);
      http_->Post(r.path, wrong_method);
    }
    http_->Put(r.path, wrong_method);
    http_->Patch(r.path, wrong_method);
    http_->Delete(r.path, wrong_method);
  }
}

bool Routes::authorized(const httplib::Request& req, httplib::Response& res) const {
  if (options_.api_key.empty()) return true;
  if (api_key_matches(req.get_header_value("Authorization"), options_.api_key)) return true;
  ApiError e;
  e.status = 401;
  e.message =
      "Authorization: expected 'Bearer' and the server's API key (--api-key), found "
      "another key or none";
  e.code = "invalid_api_key";
  send_error(res, e);
  return false;
}

bool Routes::ready(httplib::Response& res) const {
  if (ready_) return true;
  ApiError e;
  e.status = 503;
  e.type = "unavailable_error";
  e.message = "the model is still loading: retry when GET /health answers 200";
  e.code = "model_loading";
  res.set_header("Retry-After", "1");
  send_error(res, e);
  return false;
}

std::optional<ApiError> Routes::prepare(const CompletionRequest& request,
                                        GenerationParams& out) const {
  const runtime::Tokenizer& tokenizer = *model_->tokenizer();
  const bool chat = request.endpoint == Endpoint::kChat;
  const char* field = chat ? "messages" : "prompt";
  std::string text = request.prompt;
  if (chat) {
    auto prompt = chat_template_->apply_json(request.messages, /*add_generation_prompt=*/true);
    if (!prompt) return bad_request(field, prompt.error().message(), "chat_template_error");
    text = std::move(*prompt);
  }
  // BOS as the vocabulary asks, unless the template wrote it already.
  const int32_t bos = tokenizer.bos();
  const bool has_bos =
      bos >= 0 && text.rfind(tokenizer.vocab().tokens[static_cast<size_t>(bos)], 0) == 0;
  std::vector<int32_t> tokens =
      tokenizer.encode(text, /*add_special=*/!has_bos, /*parse_special=*/true);
  if (tokens.empty()) tokens.push_back(bos >= 0 ? bos : 0);
  const int64_t context = model_->context();
  const int64_t wanted = request.max_tokens       ? *request.max_tokens
                         : options_.n_predict > 0 ? options_.n_predict
                                                  : context;
  const auto n = static_cast<int64_t>(tokens.size());
  if (n >= context && !request.truncate) {
    return bad_request(field,
                       fmt::format("{}: the prompt has {} tokens, expected fewer than the context "
                                   "of {} tokens per slot (shorten it, start the server with a "
                                   "larger -c, or send \"truncate\": true)",
                                   field, n, context),
                       "context_length_exceeded");
  }
  if (request.truncate) {
    // Keep the first token (BOS) and the end, leaving room for max_tokens (at most half).
    const int64_t keep = context - std::min(wanted, context / 2);
    if (n > keep) {
      std::vector<int32_t> cut = {tokens.front()};
      cut.insert(cut.end(), tokens.end() - (keep - 1), tokens.end());
      tokens = std::move(cut);
    }
  }
  out.max_tokens = std::min(wanted, context - static_cast<int64_t>(tokens.size()));
  out.prompt = std::move(tokens);
  out.sampling = request.sampling;
  out.sampling.seed = request.seed ? *request.seed : std::random_device{}();
  out.stop = request.stop;
  out.ignore_eos = request.ignore_eos;
  if (chat) {
    for (const std::string& s : chat_template_->stop_strings()) out.stop.push_back(s);
  }
  return std::nullopt;
}

void Routes::completion(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  if (!authorized(req, res) || !ready(res)) return;
  CompletionRequest request;
  if (auto e = parse_request(req.body, endpoint, options_.sampling, request))
    return send_error(res, *e);
  GenerationParams params;
  if (auto e = prepare(request, params)) return send_error(res, *e);
  auto task = std::make_shared<CompletionTask>(std::move(params));
  if (!scheduler_->submit(task)) {
    metrics_.rejected_full_queue();
    res.set_header("Retry-After", "1");
    ApiError e;
    e.status = 429;
    e.type = "rate_limit_error";
    e.message = fmt::format(
        "the server is busy: its {} slots are generating and {} requests "
        "wait already (--queue); retry later",
        options_.slots, options_.max_queue);
    e.code = "queue_full";
    return send_error(res, e);
  }
  ResponseInfo info =
      make_response_info(endpoint, request.model.empty() ? model_name_ : request.model);
  if (request.stream) {
    auto stream = std::make_shared<CompletionStream>(task, std::move(info), request.include_usage);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t, httplib::DataSink& sink) { return stream->pump(sink); },
        [stream](bool) { stream->release(); });
    return;
  }
  std::string text;
  TaskOutput piece;
  while (true) {
    if (!task->wait(std::chrono::milliseconds(200), piece)) continue;
    text += piece.text;
    if (piece.finished) break;
  }
  send_json(res, completion_response(info, text, piece));
}

Result<int> Routes::bind() {
  const int port = options_.port == 0
                       ? http_->bind_to_any_port(options_.host)
                       : (http_->bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) {
    return make_error(
        "--host {} --port {}: expected an address to listen on, found it taken or "
        "not of this machine",
        options_.host, options_.port);
  }
  return port;
}

Status Routes::load_model(const std::string& path) {
  runtime::ModelOptions mo;
  mo.backend =
      options_.kernels == "ref" ? jit::KernelBackend::kReference : jit::KernelBackend::kJit;
  mo.threads = options_.threads;
  mo.context = options_.context;
  mo.batch = options_.batch;
  mo.kv_type = options_.kv_type == "f32" ? runtime::KvType::kF32 : runtime::KvType::kF16;
  mo.head_q8_0 = options_.head_q8_0;
  mo.sequences = options_.slots;
  auto model = runtime::LlamaModel::load(path, mo);
  if (!model) return model.error();
  model_ = std::move(*model);
  auto chat = runtime::ChatTemplate::for_tokenizer(*model_->tokenizer(), path);
  if (!chat) return chat.error();
  chat_template_ = std::make_unique<runtime::ChatTemplate>(std::move(*chat));
  model_name_ =
      options_.alias.empty() ? std::filesystem::path(path).stem().string() : options_.alias;
  created_ = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  {
    std::lock_guard lock(lifecycle_);
    if (stopped_) return Status::success();
    scheduler_ = std::make_unique<SlotScheduler>(*model_, options_.max_queue, metrics_);
    ready_ = true;
  }
  const runtime::LoadStats& s = model_->load_stats();
  fmt::print(stderr,
             "sherry-server: model {} loaded in {:.1f} s ({} layers, context {} per slot, {} "
             "slots, {} threads, kernels {}), chat template: {}\n",
             path, s.load_seconds, model_->config().layers, model_->context(), model_->sequences(),
             model_->threads(), s.kernel,
             chat_template_->is_chatml_default() ? "ChatML (the file has none)" : "the file's");
  return Status::success();
}

bool Routes::listen() {
  return http_->listen_after_bind();
}

void Routes::stop() {
  stop_requested_ = true;
  http_->stop();
  std::lock_guard lock(lifecycle_);
  stopped_ = true;
  if (scheduler_) scheduler_->stop();
}

}  // namespace sherry::server
