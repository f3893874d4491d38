#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>

extern char** environ;

namespace sherry::server::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::string temp_file(const std::string& name) {
  struct Folder {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 fmt::format("sherry_test_server_{}", static_cast<long>(getpid()));
    Folder() { std::filesystem::create_directories(path); }
    ~Folder() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Folder folder;
  static int counter = 0;
  return (folder.path / fmt::format("{}_{}", ++counter, name)).string();
}

ServerProcess::ServerProcess(const std::vector<std::string>& args, bool wait_ready,
                             const std::vector<std::string>& env) {
  log_path_ = temp_file("server.log");
  std::vector<std::string> argv_strings = {SHERRY_SERVER_PATH, "--host", "127.0.0.1", "--port",
                                           "0"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), env.begin(), env.end());
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(rc == 0, "posix_spawn " << SHERRY_SERVER_PATH << " failed: " << rc);

  const std::regex listening("listening on http://127\\.0\\.0\\.1:([0-9]+)");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  std::smatch m;
  std::string text;
  while (Clock::now() < deadline) {
    text = slurp(log_path_);
    if (std::regex_search(text, m, listening)) break;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      FAIL("sherry-server exited before listening:\n" << slurp(log_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (m.empty()) {
    stop();  // the constructor throws: no destructor will
    FAIL("sherry-server did not print its port in 30 s:\n" << text);
  }
  port_ = std::stoi(m[1].str());
  if (!wait_ready) return;
  httplib::Client client("127.0.0.1", port_);
  while (Clock::now() < deadline) {
    auto r = client.Get("/health");
    if (r && r->status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  FAIL("sherry-server did not answer GET /health with 200 in 30 s:\n" << log());
}

ServerProcess::~ServerProcess() {
  stop();
  // Under the sanitizers the server reports to its stderr: each finding fails the test.
  const std::string text = log();
  CHECK_MESSAGE(text.find("Sanitizer") == std::string::npos, text);
  CHECK_MESSAGE(text.find("runtime error:") == std::string::npos, text);
}

std::string ServerProcess::log() const {
  return slurp(log_path_);
}

int ServerProcess::wait_exit(double seconds) {
  if (pid_ < 0) return status_;
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
      return status_;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -2;
}

int ServerProcess::stop() {
  if (pid_ < 0) return status_;
  kill(pid_, SIGTERM);
  if (wait_exit(20) == -2) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    status_ = -1;
  }
  return status_;
}

}  // namespace sherry::server::testing
