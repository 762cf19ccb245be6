// The Server-Sent Events stream read by a real client (curl -sN, as the issue asks): events with
// ids, segment filters, heartbeats, Last-Event-ID resume and reset, the client caps, slow clients
// dropped, and a server stop that does not wait for open streams.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <thread>

#include "collector/api/segment_stream_api.hpp"
#include "collector/segments/notify/segment_stream_hub.hpp"
#include "common/crypto.hpp"
#include "common/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::segments {
namespace {

using std::chrono::milliseconds;

SegmentChange change(int n, const std::string& segment = "vip") {
  SegmentChange c;
  c.change_id = "change-" + std::to_string(n);
  c.kind = n % 2 ? SegmentChangeKind::kExited : SegmentChangeKind::kEntered;
  c.profile_id = "profile-" + std::to_string(n);
  c.segment_id = segment;
  c.version = 2;
  c.at = 1'764'428'400'000 + n;
  c.reason = "event";
  return c;
}

template <typename F>
bool eventually(F&& done, milliseconds timeout = milliseconds(10000)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// The stream API on a real server, and curl processes reading it into files.
struct StreamFixture {
  explicit StreamFixture(StreamOptions options = {}, http::ServerOptions server_options = {})
      : hub(std::move(options), metrics),
        keys({}, {{"viewer", crypto::sha256_hex("read-key"), "read", ""}}),
        server(std::move(server_options), metrics, "collector") {
    register_segment_stream_api(server, {hub, keys, metrics});
    REQUIRE(server.start());
  }
  ~StreamFixture() {
    for (auto pid : curls) (void)terminate(pid, milliseconds(1000));
    server.stop();
  }
  std::string curl(const std::string& query, const std::string& last_event_id = "") {
    const std::string out = dir.file("curl-" + std::to_string(curls.size()) + ".txt");
    SpawnOptions spawn_options;
    spawn_options.argv = {"curl", "-sN", "-H", "Authorization: Bearer read-key"};
    if (!last_event_id.empty()) {
      spawn_options.argv.push_back("-H");
      spawn_options.argv.push_back("Last-Event-ID: " + last_event_id);
    }
    spawn_options.argv.push_back("http://127.0.0.1:" + std::to_string(server.port()) +
                                 "/v1/segments/stream" + query);
    spawn_options.log_file = out;
    auto pid = spawn(spawn_options);
    REQUIRE(pid);
    curls.push_back(*pid);
    return out;
  }
  void publish(std::vector<SegmentChange> changes) { hub.deliver(changes); }
  static std::string text(const std::string& file) {
    return std::filesystem::exists(file) ? test::read_file(file) : "";
  }

  metrics::Registry metrics;
  test::TempDir dir;
  SegmentStreamHub hub;
  ApiKeys keys;
  http::HttpServer server;
  std::vector<pid_t> curls;
};

StreamOptions fast_stream() {
  StreamOptions o;
  o.heartbeat = milliseconds(200);
  return o;
}

}  // namespace

TEST_CASE("curl reads segment changes as Server-Sent Events with ids, filters and heartbeats",
          "[collector][segment_notify][stream]") {
  StreamFixture f(fast_stream());
  const std::string all = f.curl("");
  const std::string vip = f.curl("?segment=vip,espresso");
  REQUIRE(eventually([&] { return f.hub.clients() == 2; }));
  f.publish({change(1), change(2, "other"), change(4, "espresso")});
  const std::uint64_t first = f.hub.last_seq() - 2;

  const std::string expected_first =
      "event: segment_exited\nid: " + std::to_string(first) + "\ndata: {";
  REQUIRE(eventually([&] {
    return StreamFixture::text(all).find("change-4") != std::string::npos &&
           StreamFixture::text(vip).find("change-4") != std::string::npos;
  }));
  const std::string got_all = StreamFixture::text(all);
  CHECK(got_all.rfind("retry: 3000\n\n", 0) == 0);
  const auto at = got_all.find(expected_first);
  REQUIRE(at != std::string::npos);
  const std::string data_line = got_all.substr(at, got_all.find('\n', at + expected_first.size()) - at);
  CHECK(data_line.find("\"change_id\":\"change-1\"") != std::string::npos);
  CHECK(data_line.find("\"type\":\"segment_exited\"") != std::string::npos);
  CHECK(got_all.find("change-2") != std::string::npos);
  CHECK(got_all.find("event: segment_entered\nid: " + std::to_string(first + 2) + "\n") !=
        std::string::npos);
  const std::string got_vip = StreamFixture::text(vip);
  CHECK(got_vip.find("change-1") != std::string::npos);
  CHECK(got_vip.find("change-2") == std::string::npos);  // filtered out
  // Idle: heartbeats (comment lines) keep proxies from closing the connection.
  REQUIRE(eventually([&] {
    return StreamFixture::text(vip).find(": heartbeat\n\n") != std::string::npos;
  }));
  CHECK(f.metrics.value("aisle_collector_segment_stream_events_total") == 3);
}

TEST_CASE("Last-Event-ID resumes from the ring, and an id older than the ring gets a reset",
          "[collector][segment_notify][stream]") {
  StreamOptions options = fast_stream();
  options.ring_capacity = 3;
  StreamFixture f(options);
  f.publish({change(1), change(2), change(3), change(4), change(5)});
  const std::uint64_t last = f.hub.last_seq();  // change-5; the ring keeps changes 3..5

  const std::string resumed = f.curl("", std::to_string(last - 2));  // after change-3
  const std::string too_old = f.curl("", std::to_string(last - 4));  // after change-1: gone
  const std::string by_param = f.curl("?last_event_id=" + std::to_string(last - 1));
  REQUIRE(eventually([&] {
    return StreamFixture::text(resumed).find("change-5") != std::string::npos &&
           StreamFixture::text(too_old).find("event: reset") != std::string::npos &&
           StreamFixture::text(by_param).find("change-5") != std::string::npos;
  }));
  const std::string got = StreamFixture::text(resumed);
  CHECK(got.find("change-3") == std::string::npos);
  CHECK(got.find("change-4") != std::string::npos);
  CHECK(StreamFixture::text(by_param).find("change-4") == std::string::npos);
  const std::string reset = StreamFixture::text(too_old);
  CHECK(reset.find("event: reset\nid: " + std::to_string(last) + "\n") != std::string::npos);
  CHECK(reset.find("change-4") == std::string::npos);
  CHECK(f.metrics.value("aisle_collector_segment_stream_resets_total") == 1);

  // After the reset the client follows live changes.
  f.publish({change(6)});
  REQUIRE(eventually(
      [&] { return StreamFixture::text(too_old).find("change-6") != std::string::npos; }));
}

TEST_CASE("SSE clients beyond the caps are answered 503, bad requests 400 and 401",
          "[collector][segment_notify][stream]") {
  SECTION("the hub's max_clients") {
    StreamOptions options = fast_stream();
    options.max_clients = 1;
    StreamFixture f(options);
    f.curl("");
    REQUIRE(eventually([&] { return f.hub.clients() == 1; }));
    httplib::Client client("127.0.0.1", f.server.port());
    auto r = client.Get("/v1/segments/stream", {{"Authorization", "Bearer read-key"}});
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->get_header_value("Retry-After") == "5");
    CHECK(f.metrics.value("aisle_collector_segment_stream_clients_refused_total") == 1);
  }
  SECTION("the server's max_streams (each stream holds a worker thread)") {
    http::ServerOptions server_options;
    server_options.threads = 4;
    server_options.max_streams = 1;
    StreamFixture f(fast_stream(), server_options);
    f.curl("");
    REQUIRE(eventually([&] {
      return f.metrics.value("aisle_collector_http_streams_active") == 1;
    }));
    httplib::Client client("127.0.0.1", f.server.port());
    auto r = client.Get("/v1/segments/stream", {{"Authorization", "Bearer read-key"}});
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(f.metrics.value("aisle_collector_http_streams_refused_total") == 1);
    // Plain requests still have threads.
    r = client.Get("/v1/segments/stream?segment=bad!id", {{"Authorization", "Bearer read-key"}});
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  SECTION("malformed filters and ids, missing keys") {
    StreamFixture f(fast_stream());
    httplib::Client client("127.0.0.1", f.server.port());
    auto r = client.Get("/v1/segments/stream");
    REQUIRE(r);
    CHECK(r->status == 401);
    r = client.Get("/v1/segments/stream?segment=a,,b", {{"Authorization", "Bearer read-key"}});
    REQUIRE(r);
    CHECK(r->status == 400);
    r = client.Get("/v1/segments/stream",
                   {{"Authorization", "Bearer read-key"}, {"Last-Event-ID", "abc"}});
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->body.find("Last-Event-ID") != std::string::npos);
  }
}

TEST_CASE("a slow SSE subscriber is dropped when its queue fills, and counted",
          "[collector][segment_notify][stream]") {
  metrics::Registry metrics;
  StreamOptions options;
  options.client_queue = 2;
  SegmentStreamHub hub(options, metrics);
  auto slow = hub.subscribe({}, std::nullopt);
  auto other = hub.subscribe({"espresso"}, std::nullopt);
  REQUIRE(slow);
  REQUIRE(other);
  std::vector<SegmentChange> changes{change(1), change(2), change(3)};
  hub.deliver(changes);
  CHECK(slow->subscription->dropped());
  CHECK_FALSE(other->subscription->dropped());  // filtered: nothing queued
  CHECK(slow->subscription->wait(milliseconds(1)).empty());
  CHECK(metrics.value("aisle_collector_segment_stream_clients_dropped_total") == 1);
  CHECK(hub.clients() == 1);
}

TEST_CASE("stopping the server ends open streams promptly", "[collector][segment_notify][stream]") {
  StreamFixture f(fast_stream());
  f.curl("");
  REQUIRE(eventually([&] { return f.hub.clients() == 1; }));
  const auto started = std::chrono::steady_clock::now();
  f.server.stop();
  CHECK(std::chrono::steady_clock::now() - started < milliseconds(2000));
  REQUIRE(eventually([&] { return f.hub.clients() == 0; }));
}

}  // namespace aisle::collector::segments
