// The agent's segment change listener: decoding the downlink, the recent-changes ring with
// duplicates and resets, memberships per profile (late changes, LRU bound), the long poll, and
// the kiosk routes over a real HttpServer.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <thread>

#include "agent/segments/segment_listener.hpp"
#include "agent/segments/segment_routes.hpp"
#include "tests/support/fake_uplink.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

const wire::AgentAddress kAddress{"acme", "store-1", "agent-1"};
const std::string kTopic = "aisle/v1/acme/store-1/agent-1/down/segment";

wire::SegmentChangeMessage change(const std::string& id, const std::string& profile,
                                  const std::string& segment, bool entered, UnixMillis at) {
  wire::SegmentChangeMessage c;
  c.change_id = id;
  c.entered = entered;
  c.profile_id = profile;
  c.segment_id = segment;
  c.version = 1;
  c.at = at;
  c.reason = "event";
  c.store_id = "store-1";
  c.agent_id = "agent-1";
  return c;
}

std::string payload(std::vector<wire::SegmentChangeMessage> changes) {
  return wire::encode_segment_changes(changes);
}

struct ListenerFixture {
  explicit ListenerFixture(SegmentListenerOptions options = {})
      : clock(std::make_shared<ManualClock>()),
        listener(uplink, kAddress, options, metrics, clock) {
    listener.attach();
  }
  test::FakeUplink uplink;
  metrics::Registry metrics;
  std::shared_ptr<ManualClock> clock;
  SegmentListener listener;
};

std::vector<std::string> ids(const SegmentListener::ChangesPage& page) {
  std::vector<std::string> out;
  for (const auto& c : page.changes) out.push_back(c.change.change_id);
  return out;
}

}  // namespace

TEST_CASE("the listener applies downlink changes to memberships and the recent-changes ring",
          "[agent][segments]") {
  ListenerFixture f;
  const std::uint64_t start = f.listener.last_seq();
  REQUIRE(f.uplink.deliver(kTopic, payload({change("c1", "p1", "vip", true, 100),
                                            change("c2", "p1", "espresso", true, 110),
                                            change("c3", "p2", "vip", true, 120)})));
  REQUIRE(f.uplink.deliver(kTopic, payload({change("c4", "p1", "vip", false, 130)})));

  auto m = f.listener.memberships("p1");
  REQUIRE(m);
  REQUIRE(m->size() == 1);
  CHECK((*m)[0].segment_id == "espresso");
  CHECK((*m)[0].entered_at == 110);
  CHECK_FALSE(f.listener.memberships("nobody"));

  auto page = f.listener.changes_since(start, 10, milliseconds(0));
  REQUIRE(page);
  CHECK(ids(*page) == std::vector<std::string>{"c1", "c2", "c3", "c4"});
  CHECK(page->next == start + 4);
  CHECK_FALSE(page->reset);
  page = f.listener.changes_since(start + 2, 1, milliseconds(0));
  REQUIRE(page);
  CHECK(ids(*page) == std::vector<std::string>{"c3"});
  CHECK(f.metrics.value("aisle_agent_segment_changes_total", {{"outcome", "applied"}}) == 4);
}

TEST_CASE("repeated, late and unreadable downlink messages do not corrupt the state",
          "[agent][segments]") {
  ListenerFixture f;
  const std::uint64_t start = f.listener.last_seq();
  f.listener.on_message(payload({change("c1", "p1", "vip", true, 200)}));
  f.listener.on_message(payload({change("c1", "p1", "vip", true, 200)}));  // QoS 1 repeat
  // An exit decided before the entry arrives late: the entry stays.
  f.listener.on_message(payload({change("c0", "p1", "vip", false, 150)}));
  f.listener.on_message("[{\"type\":\"segment_entered\"}]");
  f.listener.on_message("not json");

  auto m = f.listener.memberships("p1");
  REQUIRE(m);
  REQUIRE(m->size() == 1);
  CHECK((*m)[0].segment_id == "vip");
  auto page = f.listener.changes_since(start, 10, milliseconds(0));
  REQUIRE(page);
  CHECK(ids(*page) == std::vector<std::string>{"c1", "c0"});
  CHECK(f.metrics.value("aisle_agent_segment_changes_total", {{"outcome", "duplicate"}}) == 1);
  CHECK(f.metrics.value("aisle_agent_segment_changes_total", {{"outcome", "stale"}}) == 1);
  CHECK(f.metrics.value("aisle_agent_segment_messages_refused_total") == 2);
}

TEST_CASE("the ring and the profiles are bounded, and an old cursor gets a reset", "[agent][segments]") {
  SegmentListenerOptions options;
  options.ring_capacity = 3;
  options.max_profiles = 2;
  ListenerFixture f(options);
  const std::uint64_t start = f.listener.last_seq();
  for (int i = 1; i <= 5; ++i) {
    const std::string n = std::to_string(i);
    f.listener.on_message(payload({change("c" + n, "p" + n, "vip", true, 100 + i)}));
  }
  auto page = f.listener.changes_since(start, 10, milliseconds(0));
  REQUIRE(page);
  CHECK(page->reset);
  CHECK(ids(*page) == std::vector<std::string>{"c3", "c4", "c5"});
  // A cursor from the future (another run) is reset too.
  page = f.listener.changes_since(start + 100, 10, milliseconds(0));
  REQUIRE(page);
  CHECK(page->reset);
  // Least recently changed profiles are forgotten first.
  CHECK_FALSE(f.listener.memberships("p1"));
  CHECK_FALSE(f.listener.memberships("p3"));
  CHECK(f.listener.memberships("p4"));
  CHECK(f.listener.memberships("p5"));
  CHECK(f.metrics.value("aisle_agent_segment_profiles_evicted_total") == 3);
}

TEST_CASE("a long poll answers as soon as a change arrives, and is bounded", "[agent][segments]") {
  SegmentListenerOptions options;
  options.max_waiters = 1;
  ListenerFixture f(options);
  const std::uint64_t start = f.listener.last_seq();

  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(100));
    f.listener.on_message(payload({change("c1", "p1", "vip", true, 100)}));
  });
  const auto began = std::chrono::steady_clock::now();
  auto page = f.listener.changes_since(start, 10, milliseconds(5000));
  const auto waited = std::chrono::steady_clock::now() - began;
  later.join();
  REQUIRE(page);
  CHECK(ids(*page) == std::vector<std::string>{"c1"});
  CHECK(waited < milliseconds(3000));

  // Nothing new: the wait ends at wait_ms with an empty page.
  page = f.listener.changes_since(page->next, 10, milliseconds(50));
  REQUIRE(page);
  CHECK(page->changes.empty());

  // A second waiter beyond max_waiters is refused at once.
  std::thread waiter([&] { (void)f.listener.changes_since(f.listener.last_seq(), 10, milliseconds(2000)); });
  std::this_thread::sleep_for(milliseconds(100));
  auto refused = f.listener.changes_since(f.listener.last_seq(), 10, milliseconds(1000));
  f.listener.stop();  // wakes the first waiter
  waiter.join();
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::kResourceExhausted);
}

TEST_CASE("kiosks read changes and memberships over the agent's HTTP routes", "[agent][segments]") {
  ListenerFixture f;
  http::HttpServer server({}, f.metrics, "agent");
  register_segment_routes(server, f.listener);
  REQUIRE(server.start());
  httplib::Client client("127.0.0.1", server.port());
  const std::uint64_t start = f.listener.last_seq();

  std::thread later([&] {
    std::this_thread::sleep_for(milliseconds(100));
    f.listener.on_message(payload({change("c1", "p1", "vip", true, 1'764'428'400'000)}));
  });
  auto r = client.Get("/v1/segments/changes?since=" + std::to_string(start) + "&wait_ms=5000");
  later.join();
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const json body = json::parse(r->body);
  REQUIRE(body["changes"].size() == 1);
  CHECK(body["changes"][0]["change_id"] == "c1");
  CHECK(body["changes"][0]["type"] == "segment_entered");
  CHECK(body["changes"][0]["seq"] == start + 1);
  CHECK(body["next"] == start + 1);
  CHECK(body["reset"] == false);

  r = client.Get("/v1/segments/memberships?profile=p1");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body)["segments"][0]["segment_id"] == "vip");
  CHECK(json::parse(r->body)["segments"][0]["entered_at"] == "2025-11-29T15:00:00.000Z");
  r = client.Get("/v1/segments/memberships?profile=p9");
  REQUIRE(r);
  CHECK(r->status == 404);
  r = client.Get("/v1/segments/memberships");
  REQUIRE(r);
  CHECK(r->status == 400);
  r = client.Get("/v1/segments/changes?since=abc");
  REQUIRE(r);
  CHECK(r->status == 400);
  r = client.Get("/v1/segments/changes?wait_ms=999999");
  REQUIRE(r);
  CHECK(r->status == 400);
  server.stop();
}

TEST_CASE("the agent's segments options are parsed and refused naming the key", "[agent][segments]") {
  auto o = parse_segment_listener_options(json::parse(R"({"ring_capacity": 50, "max_wait": "10s"})"));
  REQUIRE(o);
  CHECK(o->ring_capacity == 50);
  CHECK(o->max_wait == milliseconds(10000));
  auto bad = parse_segment_listener_options(json::parse(R"({"ring": 5})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "segments.ring: unknown key");
  bad = parse_segment_listener_options(json::parse(R"({"max_profiles": 0})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "segments.max_profiles: must be an integer from 1 to 10000000");
  CHECK(parse_segment_listener_options(json()).ok());
}

}  // namespace aisle::agent
