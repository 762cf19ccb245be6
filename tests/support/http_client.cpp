#include "tests/support/http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace aisle::test {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor however the request ends.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int remaining_ms(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

// Waits until `fd` is ready for `events`; false on timeout.
bool wait_fd(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Decodes a chunked body; false when it is incomplete or malformed.
bool dechunk(const std::string& in, std::string& out) {
  std::size_t pos = 0;
  out.clear();
  while (true) {
    const auto eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    const std::size_t size = std::strtoul(in.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return true;
    if (pos + size > in.size()) return false;
    out.append(in, pos, size);
    pos += size + 2;
  }
}

}  // namespace

nlohmann::json HttpResponse::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string HttpResponse::header(const std::string& lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return "";
}

std::string HttpResponse::describe(std::size_t max_body) const {
  if (!answered()) return "no answer: " + error;
  std::string text = "status " + std::to_string(status) + ": " + body.substr(0, max_body);
  if (body.size() > max_body) text += "...";
  return text;
}

HttpClient::HttpClient(const std::string& base_url, std::string bearer)
    : bearer_(std::move(bearer)) {
  std::string rest = base_url;
  if (const auto scheme = rest.find("://"); scheme != std::string::npos) {
    rest = rest.substr(scheme + 3);
  }
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("no port in URL " + base_url);
  host_ = rest.substr(0, colon);
  port_ = std::atoi(rest.c_str() + colon + 1);
  if (port_ <= 0) throw std::invalid_argument("bad port in URL " + base_url);
}

HttpResponse HttpClient::get(const std::string& path_and_query) const {
  return request("GET", path_and_query, "", "", {});
}

HttpResponse HttpClient::post(const std::string& path, const std::string& body,
                              const std::string& content_type) const {
  return request("POST", path, body, content_type, {});
}

HttpResponse HttpClient::request(
    const std::string& method, const std::string& path, const std::string& body,
    const std::string& content_type,
    const std::vector<std::pair<std::string, std::string>>& extra_headers, bool with_bearer) const {
  HttpResponse response;
  const auto deadline = Clock::now() + timeout_;

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port_));
  if (::inet_pton(AF_INET, host_ == "localhost" ? "127.0.0.1" : host_.c_str(), &address.sin_addr) !=
      1) {
    response.error = "bad host " + host_;
    return response;
  }
  Socket sock(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (sock.fd() < 0) {
    response.error = std::string("socket: ") + std::strerror(errno);
    return response;
  }
  const int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(sock.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) {
      response.error = std::string("connect: ") + std::strerror(errno);
      return response;
    }
    if (!wait_fd(sock.fd(), POLLOUT, deadline)) {
      response.error = "connect: timeout";
      return response;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      response.error = std::string("connect: ") + std::strerror(so_error);
      return response;
    }
  }

  std::string out = method + " " + path + " HTTP/1.1\r\nHost: " + host_ + ":" +
                    std::to_string(port_) + "\r\nConnection: close\r\nAccept: */*\r\n";
  if (with_bearer && !bearer_.empty()) out += "Authorization: Bearer " + bearer_ + "\r\n";
  for (const auto& [name, value] : extra_headers) out += name + ": " + value + "\r\n";
  if (!content_type.empty()) out += "Content-Type: " + content_type + "\r\n";
  if (method != "GET" || !body.empty()) {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;

  std::size_t sent = 0;
  bool send_failed = false;
  while (sent < out.size()) {
    const ssize_t n = ::send(sock.fd(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      if (!wait_fd(sock.fd(), POLLOUT, deadline)) {
        response.error = "send: timeout";
        return response;
      }
      continue;
    }
    // The server may answer early (413) and close; read what it said.
    send_failed = true;
    response.error = std::string("send: ") + std::strerror(errno);
    break;
  }

  std::string in;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::recv(sock.fd(), buffer, sizeof buffer, 0);
    if (n > 0) {
      in.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      if (!wait_fd(sock.fd(), POLLIN, deadline)) {
        response.error = "recv: timeout";
        return response;
      }
      continue;
    }
    if (in.empty()) {
      response.error = std::string("recv: ") + std::strerror(errno);
      return response;
    }
    break;  // a reset after a complete answer
  }

  const auto header_end = in.find("\r\n\r\n");
  if (header_end == std::string::npos || in.compare(0, 5, "HTTP/") != 0) {
    if (response.error.empty() || !send_failed) {
      response.error = in.empty() ? "connection closed without an answer"
                                  : "malformed answer: " + in.substr(0, 200);
    }
    return response;
  }
  const auto first_eol = in.find("\r\n");
  const auto space = in.find(' ');
  const int status = std::atoi(in.c_str() + space + 1);
  std::size_t pos = first_eol + 2;
  bool chunked = false;
  std::size_t content_length = std::string::npos;
  while (pos < header_end) {
    const auto eol = in.find("\r\n", pos);
    const std::string line = in.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    if (name == "content-length") content_length = std::strtoul(value.c_str(), nullptr, 10);
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  std::string payload = in.substr(header_end + 4);
  if (chunked) {
    std::string decoded;
    if (!dechunk(payload, decoded)) {
      response.error = "truncated chunked body";
      return response;
    }
    payload = std::move(decoded);
  } else if (content_length != std::string::npos) {
    if (payload.size() < content_length) {
      response.error = "truncated body (" + std::to_string(payload.size()) + " of " +
                       std::to_string(content_length) + " bytes)";
      return response;
    }
    payload.resize(content_length);
  }
  response.status = status;
  response.error.clear();
  response.body = std::move(payload);
  return response;
}

}  // namespace aisle::test
