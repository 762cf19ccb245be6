// The segment change wire form, the fanout's bounded per-channel queues and the agent downlink.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "collector/segments/notify/agent_downlink.hpp"
#include "collector/segments/notify/change_fanout.hpp"
#include "collector/segments/notify/change_message.hpp"
#include "collector/segments/notify/notify_options.hpp"
#include "common/wire/segment_change_wire.hpp"

namespace aisle::collector::segments {
namespace {

using std::chrono::milliseconds;

SegmentChange change(int n, const std::string& segment = "vip", const std::string& store = "store-1",
                     const std::string& agent = "agent-1") {
  SegmentChange c;
  c.change_id = "change-" + std::to_string(n);
  c.kind = n % 2 ? SegmentChangeKind::kExited : SegmentChangeKind::kEntered;
  c.profile_id = "profile-" + std::to_string(n);
  c.segment_id = segment;
  c.version = 3;
  c.at = 1'764'428'400'123 + n;
  c.trigger_event_id = n % 3 ? "event-" + std::to_string(n) : "";
  c.reason = n % 3 ? "event" : "window_expired";
  c.store_id = store;
  c.agent_id = agent;
  return c;
}

// Records what it is handed; can be held closed to simulate a slow consumer.
class RecordingChannel final : public ChangeChannel {
 public:
  void deliver(std::vector<SegmentChange>& changes) override {
    std::unique_lock lock(mutex_);
    open_.wait(lock, [&] { return !held_; });
    batches.push_back(changes.size());
    for (auto& c : changes) received.push_back(c.change_id);
    changed_.notify_all();
  }
  void hold(bool held) {
    {
      const std::lock_guard lock(mutex_);
      held_ = held;
    }
    open_.notify_all();
  }
  bool wait_for(std::size_t count, milliseconds timeout = milliseconds(5000)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received.size() >= count; });
  }
  std::vector<std::string> received;
  std::vector<std::size_t> batches;

 private:
  std::mutex mutex_;
  std::condition_variable open_;
  std::condition_variable changed_;
  bool held_ = false;
};

}  // namespace

TEST_CASE("a segment change encodes to JSON and decodes back unchanged",
          "[collector][segment_notify][wire]") {
  const auto message = to_message(change(1));
  const std::string json = wire::encode_segment_change(message);
  CHECK(json.find("\"type\":\"segment_exited\"") != std::string::npos);
  CHECK(json.find("\"time\":\"2025-11-29T15:00:00.124Z\"") != std::string::npos);
  auto decoded = wire::decode_segment_change(json);
  REQUIRE(decoded);
  CHECK(*decoded == message);

  std::vector<wire::SegmentChangeMessage> list{to_message(change(2)), to_message(change(3))};
  auto many = wire::decode_segment_changes(wire::encode_segment_changes(list));
  REQUIRE(many);
  CHECK(*many == list);
  // A single object is a one-element list.
  auto one = wire::decode_segment_changes(json);
  REQUIRE(one);
  CHECK(one->size() == 1);
}

TEST_CASE("a malformed segment change is refused naming the field and the element",
          "[collector][segment_notify][wire]") {
  const std::string good = wire::encode_segment_change(to_message(change(2)));
  auto without = [&](const std::string& key) {
    auto j = nlohmann::json::parse(good);
    j.erase(key);
    return j.dump();
  };
  auto e = wire::decode_segment_change(without("profile_id"));
  REQUIRE_FALSE(e);
  CHECK(e.error().message == "segment change: 'profile_id' is required");
  e = wire::decode_segment_change(without("time"));
  REQUIRE_FALSE(e);
  CHECK(e.error().message == "segment change: 'time' must be an RFC 3339 date-time");
  auto j = nlohmann::json::parse(good);
  j["type"] = "segment_moved";
  CHECK_FALSE(wire::decode_segment_change(j.dump()));
  j = nlohmann::json::parse(good);
  j["version"] = -1;
  e = wire::decode_segment_change(j.dump());
  REQUIRE_FALSE(e);
  CHECK(e.error().message.find("'version'") != std::string::npos);

  auto list = wire::decode_segment_changes("[" + good + "," + without("segment_id") + "]");
  REQUIRE_FALSE(list);
  CHECK(list.error().message == "segment change [1]: 'segment_id' is required");
  wire::SegmentChangeLimits limits;
  limits.max_changes = 1;
  list = wire::decode_segment_changes("[" + good + "," + good + "]", limits);
  REQUIRE_FALSE(list);
  CHECK(list.error().message == "segment changes: 2 changes, limit 1");
  CHECK_FALSE(wire::decode_segment_changes("42"));
  CHECK_FALSE(wire::decode_segment_changes("{\"type\":"));
}

TEST_CASE("the fanout hands every change to every channel in order",
          "[collector][segment_notify][fanout]") {
  metrics::Registry metrics;
  RecordingChannel a;
  RecordingChannel b;
  ChangeFanout fanout(metrics);
  fanout.add_channel({"a", 100, 8, milliseconds(0)}, a);
  fanout.add_channel({"b", 100, 8, milliseconds(0)}, b);
  fanout.start();
  for (int i = 0; i < 50; ++i) fanout.on_change(change(i));
  REQUIRE(a.wait_for(50));
  REQUIRE(b.wait_for(50));
  fanout.stop();
  for (int i = 0; i < 50; ++i) {
    CHECK(a.received[i] == "change-" + std::to_string(i));
    CHECK(b.received[i] == "change-" + std::to_string(i));
  }
  for (auto size : a.batches) CHECK(size <= 8);
  CHECK(metrics.value("aisle_collector_segment_notify_queued_total", {{"channel", "a"}}) == 50);
}

TEST_CASE("a stuck channel drops its own overflow without slowing the engine or other channels",
          "[collector][segment_notify][fanout]") {
  metrics::Registry metrics;
  RecordingChannel stuck;
  RecordingChannel healthy;
  ChangeFanout fanout(metrics);
  fanout.add_channel({"stuck", 10, 1, milliseconds(0)}, stuck);
  fanout.add_channel({"healthy", 1000, 64, milliseconds(0)}, healthy);
  stuck.hold(true);
  fanout.start();
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) fanout.on_change(change(i));
  // on_change never waited for the stuck channel.
  CHECK(std::chrono::steady_clock::now() - started < milliseconds(500));
  REQUIRE(healthy.wait_for(100));
  // The stuck worker holds one change; ten more wait in its queue; the rest were dropped.
  CHECK(fanout.dropped("stuck") >= 89);
  CHECK(fanout.dropped("stuck") <= 90);
  CHECK(fanout.dropped("healthy") == 0);
  CHECK(metrics.value("aisle_collector_segment_notify_dropped_total", {{"channel", "stuck"}}) ==
        static_cast<double>(fanout.dropped("stuck")));
  stuck.hold(false);
  fanout.stop();  // delivers what was queued before joining
  CHECK(stuck.received.size() == 100 - fanout.dropped("stuck"));
}

TEST_CASE("the fanout lingers so a burst shares one delivery", "[collector][segment_notify][fanout]") {
  metrics::Registry metrics;
  RecordingChannel channel;
  ChangeFanout fanout(metrics);
  fanout.add_channel({"downlink", 1000, 500, milliseconds(50)}, channel);
  fanout.start();
  for (int i = 0; i < 20; ++i) fanout.on_change(change(i));
  REQUIRE(channel.wait_for(20));
  fanout.stop();
  CHECK(channel.batches.size() <= 2);
}

TEST_CASE("the downlink publishes each agent's changes as one QoS 1 message on its topic",
          "[collector][segment_notify][downlink]") {
  metrics::Registry metrics;
  struct Published {
    std::string topic;
    std::string payload;
    int qos;
  };
  std::vector<Published> published;
  AgentDownlink downlink({"acme", 2, 1},
                         [&](const std::string& t, const std::string& p, int qos) {
                           published.push_back({t, p, qos});
                           return ok_status();
                         },
                         metrics);
  std::vector<SegmentChange> batch{change(1), change(2, "vip", "store-2", "agent-2"), change(3),
                                   change(4, "vip", "", ""), change(5)};
  downlink.deliver(batch);
  // store-1/agent-1 has three changes: two messages of at most two; store-2 one; web-only none.
  REQUIRE(published.size() == 3);
  CHECK(published[0].topic == "aisle/v1/acme/store-1/agent-1/down/segment");
  CHECK(published[0].qos == 1);
  auto first = wire::decode_segment_changes(published[0].payload);
  REQUIRE(first);
  REQUIRE(first->size() == 2);
  CHECK((*first)[0].change_id == "change-1");
  CHECK((*first)[1].change_id == "change-3");
  auto second = wire::decode_segment_changes(published[1].payload);
  REQUIRE(second);
  CHECK(second->size() == 1);
  CHECK((*second)[0].change_id == "change-5");
  CHECK(published[2].topic == "aisle/v1/acme/store-2/agent-2/down/segment");
  CHECK(metrics.value("aisle_collector_segment_downlink_changes_total",
                      {{"outcome", "published"}}) == 4);
  CHECK(metrics.value("aisle_collector_segment_downlink_changes_total",
                      {{"outcome", "no_agent"}}) == 1);
  CHECK(metrics.value("aisle_collector_segment_downlink_messages_total") == 3);
}

TEST_CASE("a downlink publish that fails is counted, not retried",
          "[collector][segment_notify][downlink]") {
  metrics::Registry metrics;
  int calls = 0;
  AgentDownlink downlink({"acme", 100, 1},
                         [&](const std::string&, const std::string&, int) {
                           ++calls;
                           return Status(make_error(ErrorCode::kUnavailable, "not connected"));
                         },
                         metrics);
  std::vector<SegmentChange> batch{change(1), change(2)};
  downlink.deliver(batch);
  CHECK(calls == 1);
  CHECK(metrics.value("aisle_collector_segment_downlink_changes_total", {{"outcome", "failed"}}) ==
        2);
}

TEST_CASE("notification options are parsed with defaults and refused naming the key",
          "[collector][segment_notify][options]") {
  auto webhooks = parse_webhook_options(nlohmann::json::parse(
      R"({"workers": 2, "max_attempts": 5, "backoff_base": "250ms", "queue_capacity": 50})"));
  REQUIRE(webhooks);
  CHECK(webhooks->workers == 2);
  CHECK(webhooks->max_attempts == 5);
  CHECK(webhooks->backoff_base == milliseconds(250));
  CHECK(webhooks->queue.queue_capacity == 50);
  CHECK(webhooks->request_timeout == milliseconds(10000));

  auto bad = parse_webhook_options(nlohmann::json::parse(R"({"max_attempts": 0})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "segments.webhooks.max_attempts: must be an integer from 1 to 100");
  bad = parse_webhook_options(nlohmann::json::parse(R"({"retries": 3})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "segments.webhooks.retries: unknown key");

  auto stream = parse_stream_options(nlohmann::json::parse(R"({"heartbeat": "5s"})"));
  REQUIRE(stream);
  CHECK(stream->heartbeat == milliseconds(5000));
  CHECK_FALSE(parse_stream_options(nlohmann::json::parse(R"({"heartbeat": "soon"})")));
  auto downlink = parse_downlink_options(nlohmann::json::object());
  REQUIRE(downlink);
  CHECK(downlink->queue.linger == milliseconds(5));
  CHECK(parse_downlink_options(nlohmann::json()).ok());  // section absent: defaults
}

}  // namespace aisle::collector::segments
