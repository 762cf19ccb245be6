#include "common/http/guarded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace aisle::http {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Chunk framing ("1a2b\r\n...\r\n") rides on top of the body: a chunked body may use this much
// more wire bytes than max_body_bytes before it is refused.
constexpr std::size_t kChunkFramingAllowance = 64 * 1024;
// After a refusal the connection is half-closed and what the client still sends is read and
// dropped for this long, so that it can read the answer (closing with unread input would reset
// the connection and lose the answer).
constexpr milliseconds kLinger{2000};
constexpr std::size_t kReadChunk = 16 * 1024;

// httplib's accept loop hands every socket to its task queue; this one runs the task at once on
// the listen thread: GuardedServer::process_and_close_socket only registers the connection.
class InlineTaskQueue final : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

std::string address_text(const sockaddr_storage& addr, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  return text;
}

int poll_one(int fd, short events, milliseconds timeout) {
  pollfd pfd{fd, events, 0};
  int r;
  do {
    r = ::poll(&pfd, 1, static_cast<int>(std::max<milliseconds::rep>(0, timeout.count())));
  } while (r < 0 && errno == EINTR);
  return r;
}

// A whole answer in one non-blocking send: used only where the connection is refused or cut
// off, so a client that does not read gets nothing more.
void send_answer(int fd, int status, const char* phrase, const std::string& message,
                 const char* extra_header = "") {
  const std::string body = "{\"error\":\"" + message + "\"}\n";
  const std::string text =
      "HTTP/1.1 " + std::to_string(status) + " " + phrase +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n" + extra_header + "Connection: close\r\n\r\n" + body;
  (void)::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

std::size_t head_end(const std::string& bytes) {
  const auto at = bytes.find("\r\n\r\n");
  return at == std::string::npos ? 0 : at + 4;
}

}  // namespace

std::string_view reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kHeaderTimeout: return "header_timeout";
    case RejectReason::kHeadersTooLarge: return "headers_too_large";
    case RejectReason::kBodyTimeout: return "body_timeout";
    case RejectReason::kBodyTooLarge: return "body_too_large";
    case RejectReason::kTooManyConnections: return "too_many_connections";
  }
  return "unknown";
}

struct GuardedServer::Connection {
  int fd = -1;
  std::string buffered;   // received, not yet handled: the start of the next request
  bool idle = true;       // nothing of the next request received yet
  bool draining = false;  // refused: half-closed, input dropped until the linger ends
  Clock::time_point deadline;
  std::size_t served = 0;
  std::string remote_ip;
  int remote_port = 0;
  std::string local_ip;
  int local_port = 0;
};

struct GuardedServer::State {
  GuardLimits limits;
  RejectCallback on_reject;
  OpenCallback on_open;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> stopping{false};
  int wake_fd = -1;
  std::mutex mutex;  // guards incoming and poller_done
  std::vector<std::unique_ptr<Connection>> incoming;
  bool poller_done = false;
  std::thread poller;
  std::unique_ptr<httplib::ThreadPool> workers;
  std::function<void(std::unique_ptr<Connection>)> serve;

  void reject(RejectReason reason) {
    if (on_reject) on_reject(reason);
  }

  void close(std::unique_ptr<Connection> c) {
    ::close(c->fd);
    open.fetch_sub(1);
    if (on_open) on_open(-1);
  }

  // Hands a connection to the poller (from the listen thread or a worker).
  void wait_for_request(std::unique_ptr<Connection> c) {
    {
      std::lock_guard lock(mutex);
      if (!poller_done) {
        incoming.push_back(std::move(c));
      }
    }
    if (c) {
      close(std::move(c));
      return;
    }
    const std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof one);
  }

  // Answers `status` and keeps the connection half-closed for the linger time.
  void refuse(Connection& c, int status, const char* phrase, const std::string& message) {
    send_answer(c.fd, status, phrase, message);
    ::shutdown(c.fd, SHUT_WR);
    c.draining = true;
    c.buffered.clear();
    c.deadline = Clock::now() + kLinger;
  }

  enum class ReadOutcome { kWaiting, kHeadComplete, kClosed };

  ReadOutcome read_available(Connection& c, Clock::time_point now) {
    char buffer[kReadChunk];
    // A few reads per round at most, so one fast sender does not hold up the others.
    for (int round = 0; round < 4; ++round) {
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0) return ReadOutcome::kClosed;
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? ReadOutcome::kWaiting
                                                       : ReadOutcome::kClosed;
      }
      if (c.draining) continue;
      if (c.idle) {
        // The next request began: its head must now be complete within header_timeout.
        c.idle = false;
        c.deadline = now + limits.header_timeout;
      }
      const std::size_t search_from = c.buffered.size() >= 3 ? c.buffered.size() - 3 : 0;
      c.buffered.append(buffer, static_cast<std::size_t>(n));
      const auto end = c.buffered.find("\r\n\r\n", search_from);
      const std::size_t head_size = end == std::string::npos ? c.buffered.size() : end + 4;
      if (head_size > limits.max_header_bytes) {
        reject(RejectReason::kHeadersTooLarge);
        refuse(c, 431, "Request Header Fields Too Large",
               "request head exceeds max_header_bytes (" + std::to_string(limits.max_header_bytes) +
                   ")");
        return ReadOutcome::kWaiting;
      }
      if (end != std::string::npos) return ReadOutcome::kHeadComplete;
    }
    return ReadOutcome::kWaiting;
  }

  void run_poller() {
    std::vector<std::unique_ptr<Connection>> waiting;
    std::vector<pollfd> fds;
    while (!stopping.load()) {
      {
        std::lock_guard lock(mutex);
        for (auto& c : incoming) waiting.push_back(std::move(c));
        incoming.clear();
      }
      fds.clear();
      fds.push_back({wake_fd, POLLIN, 0});
      auto next_deadline = Clock::now() + milliseconds(250);
      for (const auto& c : waiting) {
        fds.push_back({c->fd, POLLIN, 0});
        next_deadline = std::min(next_deadline, c->deadline);
      }
      const auto wait = std::chrono::duration_cast<milliseconds>(next_deadline - Clock::now());
      const int ready =
          ::poll(fds.data(), fds.size(),
                 static_cast<int>(std::clamp<milliseconds::rep>(wait.count() + 1, 0, 250)));
      if (ready < 0 && errno != EINTR) break;
      if (fds[0].revents != 0) {
        std::uint64_t count = 0;
        (void)!::read(wake_fd, &count, sizeof count);
      }
      const auto now = Clock::now();
      std::size_t kept = 0;
      for (std::size_t i = 0; i < waiting.size(); ++i) {
        auto& c = waiting[i];
        ReadOutcome outcome = ReadOutcome::kWaiting;
        if (fds[i + 1].revents != 0) outcome = read_available(*c, now);
        if (outcome == ReadOutcome::kClosed) {
          close(std::move(c));
          continue;
        }
        if (outcome == ReadOutcome::kHeadComplete) {
          Connection* raw = c.release();
          workers->enqueue([this, raw] { serve(std::unique_ptr<Connection>(raw)); });
          continue;
        }
        if (now >= c->deadline) {
          if (c->draining || (c->idle && c->served > 0)) {
            close(std::move(c));  // linger over, or keep-alive idle: a normal close
            continue;
          }
          reject(RejectReason::kHeaderTimeout);
          if (c->idle) {
            close(std::move(c));  // never sent a byte: nothing to answer
            continue;
          }
          refuse(*c, 408, "Request Timeout",
                 "request head not complete within header_timeout (" +
                     std::to_string(limits.header_timeout.count()) + " ms)");
        }
        waiting[kept++] = std::move(c);
      }
      waiting.resize(kept);
    }
    std::vector<std::unique_ptr<Connection>> left;
    {
      std::lock_guard lock(mutex);
      poller_done = true;
      left = std::move(incoming);
    }
    for (auto& c : waiting) close(std::move(c));
    for (auto& c : left) close(std::move(c));
  }
};

namespace {

// The stream httplib reads one request from and writes its answer to. The head is already in
// the connection's buffer; the body must follow within request_timeout, with no gap over
// read_timeout, and at most max_body_bytes (plus chunk framing).
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(GuardedServer::Connection& c, const GuardLimits& limits, std::size_t head_size)
      : c_(c),
        limits_(limits),
        wire_limit_(head_size + limits.max_body_bytes + kChunkFramingAllowance),
        deadline_(Clock::now() + limits.request_timeout) {}

  bool is_readable() const override {
    return pos_ < c_.buffered.size() || poll_one(c_.fd, POLLIN, milliseconds(0)) > 0;
  }
  bool is_writable() const override { return poll_one(c_.fd, POLLOUT, limits_.write_timeout) > 0; }

  ssize_t read(char* ptr, std::size_t size) override {
    if (pos_ == c_.buffered.size()) {
      if (!fill()) return -1;
    }
    const std::size_t n = std::min(size, c_.buffered.size() - pos_);
    std::memcpy(ptr, c_.buffered.data() + pos_, n);
    pos_ += n;
    consumed_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (poll_one(c_.fd, POLLOUT, limits_.write_timeout) <= 0) return -1;
    ssize_t n;
    do {
      n = ::send(c_.fd, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.remote_ip;
    port = c_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.local_ip;
    port = c_.local_port;
  }
  socket_t socket() const override { return c_.fd; }

  // What was received beyond this request stays in the connection's buffer.
  void keep_unread() { c_.buffered.erase(0, pos_); }

  std::optional<RejectReason> failure;

 private:
  bool fill() {
    c_.buffered.clear();
    pos_ = 0;
    if (consumed_ >= wire_limit_) {
      failure = RejectReason::kBodyTooLarge;
      return false;
    }
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now());
    if (remaining.count() <= 0) {
      failure = RejectReason::kBodyTimeout;
      return false;
    }
    const int ready = poll_one(c_.fd, POLLIN, std::min(remaining, limits_.read_timeout));
    if (ready == 0) failure = RejectReason::kBodyTimeout;
    if (ready <= 0) return false;
    char buffer[kReadChunk];
    // Never read past the limit: the bytes after it are not this server's to drop.
    const std::size_t want = std::min(sizeof buffer, wire_limit_ - consumed_);
    ssize_t n;
    do {
      n = ::recv(c_.fd, buffer, want, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return false;
    c_.buffered.assign(buffer, static_cast<std::size_t>(n));
    return true;
  }

  GuardedServer::Connection& c_;
  const GuardLimits& limits_;
  std::size_t wire_limit_;
  Clock::time_point deadline_;
  std::size_t pos_ = 0;
  std::size_t consumed_ = 0;
};

thread_local BoundedStream* t_current = nullptr;

}  // namespace

const RejectReason* GuardedServer::current_body_failure() {
  return t_current && t_current->failure ? &*t_current->failure : nullptr;
}

GuardedServer::GuardedServer(GuardLimits limits, RejectCallback on_reject, OpenCallback on_open)
    : state_(std::make_shared<State>()) {
  state_->limits = limits;
  state_->on_reject = std::move(on_reject);
  state_->on_open = std::move(on_open);
  state_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  state_->workers = std::make_unique<httplib::ThreadPool>(std::max<std::size_t>(1, limits.threads));
  state_->serve = [this](std::unique_ptr<Connection> c) { serve(std::move(c)); };
  state_->poller = std::thread([state = state_.get()] { state->run_poller(); });
  new_task_queue = [] { return new InlineTaskQueue; };
  // A declared body over the limit is refused before a byte of it is read (httplib would read
  // and drop all of it first). The request is marked `Connection: close` so the answer says so:
  // the unread body cannot be told from a next request.
  set_pre_routing_handler(
      [max = limits.max_body_bytes](const httplib::Request& req, httplib::Response& res) {
        const std::string length = req.get_header_value("Content-Length");
        if (length.empty() || !t_current) return HandlerResponse::Unhandled;
        errno = 0;
        char* end = nullptr;
        const unsigned long long declared = std::strtoull(length.c_str(), &end, 10);
        if (errno == 0 && end && *end == '\0' && declared <= max) return HandlerResponse::Unhandled;
        t_current->failure = RejectReason::kBodyTooLarge;
        // The request object is httplib's own non-const local; it only hands it out as const.
        const_cast<httplib::Request&>(req).set_header("Connection", "close");
        res.status = 413;
        return HandlerResponse::Handled;
      });
}

GuardedServer::~GuardedServer() {
  shutdown();
}

void GuardedServer::shutdown() {
  if (!state_ || !state_->poller.joinable()) return;
  state_->stopping = true;
  const std::uint64_t one = 1;
  (void)!::write(state_->wake_fd, &one, sizeof one);
  state_->poller.join();
  state_->workers->shutdown();  // finishes the queued requests; hand-backs now close
  ::close(state_->wake_fd);
}

void GuardedServer::widen_backlog() {
  const socket_t sock = svr_sock_.load();
  if (sock == INVALID_SOCKET) return;
  const auto backlog =
      std::min<std::size_t>(std::max<std::size_t>(state_->limits.max_connections, 16), 4096);
  (void)::listen(sock, static_cast<int>(backlog));
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  State& s = *state_;
  if (s.open.fetch_add(1) >= s.limits.max_connections || s.stopping.load()) {
    s.open.fetch_sub(1);
    if (!s.stopping.load()) {
      s.reject(RejectReason::kTooManyConnections);
      send_answer(sock, 503, "Service Unavailable",
                  "too many open connections (max_connections " +
                      std::to_string(s.limits.max_connections) + "); retry later",
                  "Retry-After: 1\r\n");
    }
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return false;
  }
  if (s.on_open) s.on_open(+1);
  auto c = std::make_unique<Connection>();
  c->fd = sock;
  c->deadline = Clock::now() + s.limits.header_timeout;
  sockaddr_storage addr{};
  socklen_t length = sizeof addr;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    c->remote_ip = address_text(addr, c->remote_port);
  }
  length = sizeof addr;
  if (::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    c->local_ip = address_text(addr, c->local_port);
  }
  s.wait_for_request(std::move(c));
  return true;
}

void GuardedServer::serve(std::unique_ptr<Connection> c) {
  State& s = *state_;
  while (true) {
    BoundedStream stream(*c, s.limits, head_end(c->buffered));
    const bool last = s.stopping.load() || c->served + 1 >= s.limits.max_keep_alive_requests;
    bool client_closes = false;
    t_current = &stream;
    const bool answered = process_request(stream, last, client_closes, nullptr);
    t_current = nullptr;
    ++c->served;
    stream.keep_unread();
    if (stream.failure) {
      // Cut off inside the body (answered 408/413 by the error handler): where the next request
      // would start is unknown. Half-close, and drop input for the linger time.
      s.reject(*stream.failure);
      ::shutdown(c->fd, SHUT_WR);
      c->draining = true;
      c->idle = false;
      c->buffered.clear();
      c->deadline = Clock::now() + kLinger;
      s.wait_for_request(std::move(c));
      return;
    }
    if (!answered || client_closes || last) {
      s.close(std::move(c));
      return;
    }
    // A keep-alive client often sends its next request at once: if its head is already here,
    // serve it on this thread instead of a round trip through the poller.
    if (c->buffered.size() < s.limits.max_header_bytes && head_end(c->buffered) == 0) {
      char buffer[kReadChunk];
      const std::size_t room =
          std::min(sizeof buffer, s.limits.max_header_bytes - c->buffered.size());
      const ssize_t n = ::recv(c->fd, buffer, room, MSG_DONTWAIT);
      if (n == 0) {
        s.close(std::move(c));
        return;
      }
      if (n > 0) c->buffered.append(buffer, static_cast<std::size_t>(n));
    }
    const std::size_t next_head = head_end(c->buffered);
    if (next_head > 0 && next_head <= s.limits.max_header_bytes) continue;
    c->idle = c->buffered.empty();
    c->deadline = Clock::now() + (c->idle ? s.limits.idle_timeout : s.limits.header_timeout);
    s.wait_for_request(std::move(c));
    return;
  }
}

}  // namespace aisle::http
