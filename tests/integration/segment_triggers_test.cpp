// Segment change notifications over a real broker: the collector's downlink channel (behind the
// fanout, as the engine feeds it) publishes through a real MQTT client on the mutual-TLS
// Mosquitto of tests/support, and an in-process agent (its real MqttUplink and SegmentListener,
// the pieces aisle-agent wires; not the whole agent process) receives the change and serves it
// to kiosks over its HTTP routes.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "agent/forwarder/uplink.hpp"
#include "agent/segments/segment_listener.hpp"
#include "agent/segments/segment_routes.hpp"
#include "collector/segments/notify/agent_downlink.hpp"
#include "collector/segments/notify/change_fanout.hpp"
#include "common/mqtt/mqtt_client.hpp"
#include "tests/support/mosquitto_process.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using collector::segments::SegmentChange;
using collector::segments::SegmentChangeKind;

SegmentChange change(const std::string& id, const std::string& store, const std::string& agent) {
  SegmentChange c;
  c.change_id = id;
  c.kind = SegmentChangeKind::kEntered;
  c.profile_id = "profile-" + id;
  c.segment_id = "espresso_intent";
  c.version = 4;
  c.at = 1'764'428'400'000;
  c.trigger_event_id = "event-" + id;
  c.reason = "event";
  c.store_id = store;
  c.agent_id = agent;
  return c;
}

}  // namespace

TEST_CASE("a segment change reaches the agent of the shopper's store over the MQTT downlink",
          "[integration][segments]") {
  MosquittoProcess broker;
  metrics::Registry metrics;

  // The agent side: its uplink connection and the listener on down/segment.
  const wire::AgentAddress address{broker.tenant(), "store-1", "agent-1"};
  agent::MqttUplink uplink(broker.client_options(broker.agent("store-1", "agent-1"), "agent-1"),
                           address);
  agent::SegmentListener listener(uplink, address, {}, metrics);
  listener.attach();
  REQUIRE(uplink.connect());
  const std::uint64_t start = listener.last_seq();

  // The collector side: its MQTT client behind the downlink channel behind the fanout.
  mqtt::MqttClient collector_client(
      broker.client_options(broker.collector(), "collector-1"));
  REQUIRE(collector_client.connect());
  collector::segments::AgentDownlink downlink(
      {broker.tenant(), 100, 1},
      [&](const std::string& topic, const std::string& payload, int) {
        return collector_client.publish(topic, payload);
      },
      metrics);
  collector::segments::ChangeFanout fanout(metrics);
  fanout.add_channel({"downlink", 1000, 100, milliseconds(5)}, downlink);
  fanout.start();

  fanout.on_change(change("c-other-store", "store-2", "agent-2"));  // not this agent's
  fanout.on_change(change("c-web", "", ""));                        // web only: not published
  fanout.on_change(change("c-1", "store-1", "agent-1"));

  auto page = listener.changes_since(start, 10, milliseconds(10000));
  REQUIRE(page);
  REQUIRE(page->changes.size() == 1);
  const auto& got = page->changes[0].change;
  CHECK(got.change_id == "c-1");
  CHECK(got.entered);
  CHECK(got.segment_id == "espresso_intent");
  CHECK(got.version == 4);
  CHECK(got.trigger_event_id == "event-c-1");

  // Kiosks see it on the agent's HTTP routes.
  http::HttpServer server({}, metrics, "agent");
  agent::register_segment_routes(server, listener);
  REQUIRE(server.start());
  httplib::Client kiosk("127.0.0.1", server.port());
  auto r = kiosk.Get("/v1/segments/memberships?profile=profile-c-1");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(json::parse(r->body)["segments"][0]["segment_id"] == "espresso_intent");

  // Nothing else arrives for this agent.
  page = listener.changes_since(page->next, 10, milliseconds(500));
  REQUIRE(page);
  CHECK(page->changes.empty());
  CHECK(metrics.value("aisle_collector_segment_downlink_changes_total",
                      {{"outcome", "published"}}) == 2);
  CHECK(metrics.value("aisle_collector_segment_downlink_changes_total",
                      {{"outcome", "no_agent"}}) == 1);

  server.stop();
  fanout.stop();
  collector_client.disconnect();
  uplink.disconnect();
}

}  // namespace aisle::test
