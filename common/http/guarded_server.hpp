// GuardedServer: cpp-httplib's plain-HTTP server with the connection handling replaced, so that
// slow and hostile clients cannot take the worker threads away from normal ones.
//
// cpp-httplib 0.11 gives every accepted connection a worker thread for its whole life, and its
// only time limit is the gap between two reads: a client sending one header byte per second
// (slowloris), or an endless chunked body, keeps a thread forever, and a few dozen of them starve
// everyone else. Header size is limited per line only (1 MiB of short header lines is read into
// memory), and a chunked body has no size limit at all.
//
// Here a connection holds a worker thread only while a complete request head is being handled:
//   - one poller thread owns every connection that waits for a request (fresh or keep-alive): it
//     reads the request head without blocking, and hands the connection to a worker once the
//     blank line that ends the head arrived. A head not complete within `header_timeout` is
//     answered 408, one over `max_header_bytes` 431; both close the connection.
//   - the worker runs httplib's request processing (routing, handlers, responses) over a stream
//     that bounds the body: it must arrive within `request_timeout` (else 408) and be at most
//     `max_body_bytes` (plus chunk framing; else 413). Then the connection goes back to the
//     poller for the next request (or is closed).
//   - at most `max_connections` connections are open at once; one more is answered 503 and
//     closed at once, so the file-descriptor limit is never reached.
// Every cut-off is counted by the `on_reject` callback with a reason (see RejectReason).
//
// TLS listeners keep httplib's own SSLServer (per-read timeouts only); see docs/operations.md.
//
// Threads: the listen thread (httplib's accept loop) registers connections; the poller thread
// and the worker pool are owned here. shutdown() must be called after httplib's stop() returned
// and before destruction.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace aisle::http {

struct GuardLimits {
  std::size_t threads = 32;                          // workers handling complete requests
  std::size_t max_connections = 512;                 // open at once, waiting or being served
  std::size_t max_header_bytes = 65536;              // request line + headers
  std::size_t max_body_bytes = 8 << 20;              // decoded body; chunked framing allowed on top
  std::chrono::milliseconds header_timeout{10000};   // first byte -> end of the head
  std::chrono::milliseconds request_timeout{60000};  // end of the head -> end of the body
  std::chrono::milliseconds read_timeout{5000};      // longest silence while reading a body
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds idle_timeout{30000};  // keep-alive wait for the next request
  std::size_t max_keep_alive_requests = 10000;
};

// Why a connection or request was cut off (the `reason` label of the rejection metric).
enum class RejectReason {
  kHeaderTimeout,       // head not complete within header_timeout (408, or closed if silent)
  kHeadersTooLarge,     // head over max_header_bytes (431)
  kBodyTimeout,         // body not complete within request_timeout, or a read gap over
                        // read_timeout (408)
  kBodyTooLarge,        // Content-Length or body bytes over max_body_bytes (413)
  kTooManyConnections,  // max_connections open (503)
};
std::string_view reject_reason_name(RejectReason reason);

class GuardedServer final : public httplib::Server {
 public:
  using RejectCallback = std::function<void(RejectReason)>;
  using OpenCallback = std::function<void(std::ptrdiff_t delta)>;  // connections opened/closed

  GuardedServer(GuardLimits limits, RejectCallback on_reject, OpenCallback on_open);
  ~GuardedServer() override;

  // httplib listens with a backlog of 5: a burst of connections (an attack, or many clients at
  // once) overflows it and everyone's connect waits for a SYN retransmit (1 s and more). Call
  // after binding: listens again with a backlog of max_connections.
  void widen_backlog();

  // Closes every waiting connection and joins the poller and the workers (a worker finishes
  // its current request first). Call after stop() and after listen_after_bind() returned.
  void shutdown();

  // While a worker handles a request whose body was cut off, the reason (httplib answers such
  // a request 400; the error handler asks this to answer 408/413 instead). Worker thread only.
  static const RejectReason* current_body_failure();

  struct Connection;
  struct State;

 private:
  // Called by httplib's accept loop for every accepted socket (through an inline task queue).
  bool process_and_close_socket(socket_t sock) override;
  void serve(std::unique_ptr<Connection> connection);

  std::shared_ptr<State> state_;
};

}  // namespace aisle::http
