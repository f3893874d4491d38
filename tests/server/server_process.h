// Test support: sherry-server as a child process on a free loopback port (--port 0: the kernel
// picks it, the server prints it), its stderr in a file the test can read, SIGTERM at the end.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace sherry::server::testing {

class ServerProcess {
 public:
  // Starts build/bin/sherry-server with `args` (--host 127.0.0.1 --port 0 added) and `env`
  // ("NAME=value" entries added to the environment); waits until it listens and, with
  // wait_ready, until GET /health answers 200. Fails the test (REQUIRE) otherwise.
  explicit ServerProcess(const std::vector<std::string>& args, bool wait_ready = true,
                         const std::vector<std::string>& env = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string log() const;  // the server's stderr so far
  // Sends SIGTERM and waits; returns the exit status (-1 if killed by a signal).
  int stop();
  // Waits for the process to exit on its own (up to `seconds`); -2 if it did not.
  int wait_exit(double seconds);

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_path_;
  int status_ = -2;
};

// A fresh path in this test process's temp folder.
std::string temp_file(const std::string& name);

}  // namespace sherry::server::testing
