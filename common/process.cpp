#include "common/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace aisle {
namespace {

using Millis = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr Millis kPollInterval{25};
constexpr Millis kKillWait{5000};

// Exit statuses of children reaped here, so a caller that asks after is_running() reaped one still
// learns how it ended.
std::mutex reaped_mutex;
std::map<pid_t, int> reaped_status;
// Ports handed out by find_free_port().
std::mutex ports_mutex;
std::set<int> ports_given;

std::string errno_text(int error) {
  return std::strerror(error);
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Reaps `pid` if it is our exited child. True when it was reaped now.
bool try_reap(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r != pid) return false;
  const std::lock_guard lock(reaped_mutex);
  reaped_status[pid] = decode_wait_status(status);
  return true;
}

// A process that is a zombie (exited, not yet reaped by its parent) counts as gone.
bool is_zombie(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  const char state = stat[paren + 2];
  return state == 'Z' || state == 'X';
}

bool wait_gone(pid_t pid, Millis timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (is_running(pid)) {
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

std::vector<std::string> build_environment(
    const std::vector<std::pair<std::string, std::string>>& additions) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    const std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [k, v] : additions) replaced = replaced || k == key;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [k, v] : additions) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Connects with a timeout; the descriptor (blocking again) or -1.
int connect_with_timeout(const std::string& host, int port, Millis timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &result) != 0) return -1;
  int connected = -1;
  for (addrinfo* ai = result; ai && connected < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof error;
      rc = (::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0)
               ? 0
               : -1;
    }
    if (rc == 0 && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) == 0) {
      connected = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(result);
  return connected;
}

}  // namespace

Result<pid_t> spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "spawn: empty argv");
  if (!options.log_file.empty()) {
    const auto parent = std::filesystem::path(options.log_file).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec)
      return make_error(ErrorCode::kIo, "cannot create " + parent.string() + ": " + ec.message());
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);

  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!options.log_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, options.log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
  // Sockets and files the supervisor opened without O_CLOEXEC must not leak into daemons.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  sigset_t empty_mask, defaults;
  sigemptyset(&empty_mask);
  sigemptyset(&defaults);
  for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD}) {
    sigaddset(&defaults, s);
  }
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  posix_spawnattr_setsigmask(&attr, &empty_mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::vector<std::string> args = options.argv;
  std::vector<std::string> env = build_environment(options.env);
  const std::vector<char*> c_args = c_strings(args);
  const std::vector<char*> c_env = c_strings(env);
  pid_t pid = -1;
  const bool search_path = options.argv[0].find('/') == std::string::npos;
  const int rc =
      search_path
          ? ::posix_spawnp(&pid, args[0].c_str(), &actions, &attr, c_args.data(), c_env.data())
          : ::posix_spawn(&pid, args[0].c_str(), &actions, &attr, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    const ErrorCode code = (rc == ENOENT || rc == EACCES) ? ErrorCode::kNotFound : ErrorCode::kIo;
    return make_error(code, "cannot start " + options.argv[0] + ": " + errno_text(rc));
  }
  const std::lock_guard lock(reaped_mutex);
  reaped_status.erase(pid);  // a recycled pid: forget the previous owner's status
  return pid;
}

bool is_running(pid_t pid) {
  if (pid <= 0) return false;
  if (try_reap(pid)) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  return !is_zombie(pid);
}

std::optional<int> exit_status(pid_t pid) {
  // is_running() reports a zombie as gone without reaping it when the child exited between its
  // waitpid and its /proc check: reap it now, or its status would be lost (seen as -1 once).
  (void)try_reap(pid);
  const std::lock_guard lock(reaped_mutex);
  const auto it = reaped_status.find(pid);
  if (it == reaped_status.end()) return std::nullopt;
  return it->second;
}

Status terminate(pid_t pid, Millis grace) {
  if (!is_running(pid)) return ok_status();
  if (::kill(pid, SIGTERM) != 0 && errno != ESRCH) {
    return make_error(ErrorCode::kIo, "kill " + std::to_string(pid) + ": " + errno_text(errno));
  }
  if (wait_gone(pid, grace)) return ok_status();
  return kill9(pid);
}

Status kill9(pid_t pid) {
  if (!is_running(pid)) return ok_status();
  if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
    return make_error(ErrorCode::kIo, "kill -9 " + std::to_string(pid) + ": " + errno_text(errno));
  }
  if (wait_gone(pid, kKillWait)) return ok_status();
  return make_error(ErrorCode::kDeadlineExceeded,
                    "process " + std::to_string(pid) + " survived SIGKILL");
}

Status write_pid_file(const std::string& path, pid_t pid) {
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pid << "\n";
    if (!out) return make_error(ErrorCode::kIo, "cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return make_error(ErrorCode::kIo, "cannot write " + path + ": " + errno_text(errno));
  }
  return ok_status();
}

Result<pid_t> read_pid_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, "no pid file " + path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    return make_error(ErrorCode::kDataLoss, path + " does not hold a pid");
  }
  return static_cast<pid_t>(pid);
}

bool cmdline_contains(pid_t pid, std::string_view needle) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string arg;
  while (std::getline(in, arg, '\0')) {
    if (arg.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::optional<pid_t> live_pid_from_file(const std::string& path, std::string_view needle) {
  auto pid = read_pid_file(path);
  if (!pid || !is_running(*pid) || !cmdline_contains(*pid, needle)) return std::nullopt;
  return *pid;
}

Result<int> find_free_port() {
  for (int attempt = 0; attempt < 64; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(ErrorCode::kIo, "socket: " + errno_text(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int error = errno;
    ::close(fd);
    if (!ok) return make_error(ErrorCode::kIo, "bind 127.0.0.1:0: " + errno_text(error));
    const int port = ntohs(address.sin_port);
    const std::lock_guard lock(ports_mutex);
    if (ports_given.insert(port).second) return port;
  }
  return make_error(ErrorCode::kResourceExhausted, "no free loopback port found");
}

bool tcp_accepts(const std::string& host, int port, Millis timeout) {
  const int fd = connect_with_timeout(host, port, timeout);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

Result<int> http_get_status(const std::string& host, int port, const std::string& path,
                            Millis timeout) {
  const int fd = connect_with_timeout(host, port, timeout);
  if (fd < 0) {
    return make_error(ErrorCode::kUnavailable,
                      "cannot connect to " + host + ":" + std::to_string(port));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  bool sent = ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
              static_cast<ssize_t>(request.size());
  std::string response;
  char buffer[512];
  while (sent && response.find("\r\n") == std::string::npos && response.size() < 4096) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  // "HTTP/1.1 200 OK"
  int status = 0;
  if (response.rfind("HTTP/", 0) == 0) {
    const auto space = response.find(' ');
    if (space != std::string::npos) status = std::atoi(response.c_str() + space + 1);
  }
  if (status <= 0) {
    return make_error(ErrorCode::kUnavailable,
                      "no HTTP answer from " + host + ":" + std::to_string(port) + path);
  }
  return status;
}

Status wait_for_tcp(const std::string& host, int port, Millis timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (tcp_accepts(host, port, Millis(500))) return ok_status();
    if (SteadyClock::now() >= deadline) {
      return make_error(ErrorCode::kDeadlineExceeded, host + ":" + std::to_string(port) +
                                                          " accepts no connection after " +
                                                          std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status wait_for_http_ok(const std::string& host, int port, const std::string& path,
                        Millis timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string last = "no answer";
  while (true) {
    auto status = http_get_status(host, port, path, Millis(1000));
    if (status && *status == 200) return ok_status();
    last = status ? "HTTP " + std::to_string(*status) : status.error().message;
    if (SteadyClock::now() >= deadline) {
      return make_error(ErrorCode::kDeadlineExceeded,
                        "GET http://" + host + ":" + std::to_string(port) + path +
                            " not 200 after " + std::to_string(timeout.count()) + " ms (" + last +
                            ")");
    }
    std::this_thread::sleep_for(kPollInterval * 4);
  }
}

std::string tail_file(const std::string& path, std::size_t max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (lines.size() > max_lines) lines.pop_front();
  }
  std::ostringstream out;
  for (const auto& l : lines) out << l << "\n";
  return out.str();
}

}  // namespace aisle
