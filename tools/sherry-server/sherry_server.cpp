// sherry-server: an OpenAI-compatible HTTP server for a Llama-family GGUF model (docs/server.md).
// Listens first (printing "listening on http://HOST:PORT"), then loads the model; SIGINT and
// SIGTERM stop it cleanly. Request lines and the load report go to stderr.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "runtime/default_model.h"
#include "tools/sherry-server/routes.h"
#include "tools/sherry-server/server_options.h"

int main(int argc, char** argv) {
  using namespace sherry;
  server::ServerOptions options;
  if (const int code = server::parse_server_options(argc, argv, options); code >= 0) return code;
  std::string path = options.model;
  if (path.empty()) {
    auto found = runtime::default_model_path();
    if (!found) {
      fmt::print(stderr, "error: {}\n", found.error().message());
      return 1;
    }
    path = *found;
  }

  // Signals go to one thread, which stops the server; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is a failed write, not a crash

  server::Routes routes(options);
  auto port = routes.bind();
  if (!port) {
    fmt::print(stderr, "error: {}\n", port.error().message());
    return 1;
  }
  fmt::print(stderr, "sherry-server: listening on http://{}:{}\n", options.host, *port);
  std::fflush(stderr);

  std::atomic<bool> load_failed{false};
  std::thread signal_thread([&] {
    int received = 0;
    sigwait(&signals, &received);
    routes.stop();
  });
  std::thread loader([&] {
    // Tests hold the load back to see /health answer "loading" (docs/server.md).
    if (const char* delay = std::getenv("SHERRY_SERVER_LOAD_DELAY_MS")) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
    }
    const Status loaded = routes.load_model(path);
    if (!loaded) {
      fmt::print(stderr, "error: {}\n", loaded.error().message());
      load_failed = true;
      routes.stop();
    }
  });
  const bool served = routes.listen();
  loader.join();
  routes.stop();
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // ends its sigwait if no signal came
  signal_thread.join();
  fmt::print(stderr, "sherry-server: stopped\n");
  return load_failed || !served ? 1 : 0;
}
