#include "trainer/corpus/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sherry::corpus {

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error("{}: cannot open for reading: {}", path, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error("{}: expected a regular file", path);
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int saved = errno;
      ::close(fd);
      return make_error("{}: read failed after {} of {} bytes: {}", path, done, bytes.size(),
                        got == 0 ? "unexpected end of file" : std::strerror(saved));
    }
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return bytes;
}

Status write_file_atomic(const std::string& path, std::span<const uint8_t> bytes) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return make_error("{}: cannot create: {}", temporary, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t put = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      return make_error("{}: write failed after {} of {} bytes: {}", temporary, done, bytes.size(),
                        std::strerror(saved));
    }
    done += static_cast<size_t>(put);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return make_error("{}: fsync/close failed: {}", temporary, std::strerror(saved));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return make_error("{}: rename from {} failed: {}", path, temporary, std::strerror(saved));
  }
  return Status::success();
}

Status write_text_atomic(const std::string& path, const std::string& text) {
  return write_file_atomic(
      path, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace sherry::corpus
