// ErasureService: journal, event deletion, broadcast, receipts, completion, restart.
#include <catch2/catch.hpp>

#include <set>

#include "collector/privacy/erasure_service.hpp"
#include "tests/support/temp_dir.hpp"

using namespace aisle;
using namespace aisle::collector;

namespace {

// The world around the service: a profile store with one person, an event store, the agents the
// stream tracker knows and the broker.
struct World {
  std::set<std::string> profiles = {"p-1"};
  std::set<std::string> events = {"e1", "e2", "e3", "other"};
  std::vector<wire::AgentAddress> agents = {{"acme", "store-1", "agent-1"},
                                            {"acme", "store-2", "agent-2"}};
  std::vector<std::pair<std::string, std::string>> published;
  std::vector<std::string> audit;
  bool publish_works = true;
  bool delete_works = true;

  ErasureDependencies deps() {
    ErasureDependencies d;
    d.erase_profile = [this](const std::string& id, const std::string&) -> Result<ErasedSubject> {
      if (profiles.erase(id) == 0) return make_error(ErrorCode::kNotFound, "no profile " + id);
      return ErasedSubject{id, {"user_id:u1", "loyalty_id:l1"}, {"e1", "e2", "e3"}};
    };
    d.delete_events = [this](const std::vector<std::string>& ids) -> Result<std::uint64_t> {
      if (!delete_works) return make_error(ErrorCode::kIo, "disk I/O error");
      std::uint64_t n = 0;
      for (const auto& id : ids) n += events.erase(id);
      return n;
    };
    d.known_agents = [this] { return agents; };
    d.publish = [this](const std::string& topic, const std::string& payload) -> Status {
      if (!publish_works) return make_error(ErrorCode::kUnavailable, "not connected");
      published.emplace_back(topic, payload);
      return ok_status();
    };
    d.verify_receipt = [](const wire::ErasureReceipt& r) -> Status {
      if (r.signature != "good") return make_error(ErrorCode::kInvalidArgument, "bad signature");
      return ok_status();
    };
    d.audit = [this](const std::string& actor, const std::string& action, const std::string&,
                     const nlohmann::json&) { audit.push_back(actor + " " + action); };
    return d;
  }
};

wire::ErasureReceipt receipt_from(const wire::AgentAddress& a, const std::string& erasure_id,
                                  std::string signature = "good") {
  wire::ErasureReceipt r;
  r.erasure_id = erasure_id;
  r.tenant = a.tenant;
  r.store_id = a.store_id;
  r.agent_id = a.agent_id;
  r.events_purged = 4;
  r.cache_entries_purged = 2;
  r.purged_at = 1'700'000'100'000;
  r.signature = std::move(signature);
  return r;
}

}  // namespace

TEST_CASE("an erasure deletes events, tells every agent and completes on their receipts",
          "[collector][privacy][erasure]") {
  test::TempDir dir;
  World world;
  metrics::Registry metrics;
  auto clock = std::make_shared<ManualClock>();
  ErasureOptions options{dir.file("erasures.db"), "acme", std::chrono::minutes(5)};
  auto service = ErasureService::open(options, world.deps(), clock, metrics);
  REQUIRE(service);

  auto missing = (*service)->erase("p-404", "admin:ops");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kNotFound);

  auto status = (*service)->erase("p-1", "admin:ops");
  REQUIRE(status);
  CHECK(status->state == "awaiting_agents");
  CHECK(status->events_deleted == 3);
  CHECK(world.events == std::set<std::string>{"other"});
  REQUIRE(status->agents.size() == 2);
  REQUIRE(world.published.size() == 1);
  CHECK(world.published[0].first == "aisle/v1/acme/broadcast/erasure");
  auto request = wire::decode_erasure_request(world.published[0].second);
  REQUIRE(request);
  CHECK(request->erasure_id == status->erasure_id);
  CHECK(request->identities == std::vector<std::string>{"user_id:u1", "loyalty_id:l1"});

  // Refused: a forged signature, and a receipt sent on another agent's topic.
  (*service)->on_receipt(world.agents[0],
                         wire::encode_erasure_receipt(receipt_from(world.agents[0],
                                                                   status->erasure_id, "forged")));
  (*service)->on_receipt(world.agents[1], wire::encode_erasure_receipt(
                                              receipt_from(world.agents[0], status->erasure_id)));
  auto after_refused = (*service)->get(status->erasure_id);
  REQUIRE(after_refused);
  REQUIRE(*after_refused);
  CHECK((*after_refused)->state == "awaiting_agents");
  for (const auto& a : (*after_refused)->agents) CHECK(a.confirmed_at == 0);

  // Not yet due: no re-broadcast. Due: one more.
  (*service)->rebroadcast_due();
  CHECK(world.published.size() == 1);
  clock->advance(std::chrono::minutes(6));
  (*service)->rebroadcast_due();
  CHECK(world.published.size() == 2);

  for (const auto& a : world.agents) {
    (*service)->on_receipt(a, wire::encode_erasure_receipt(receipt_from(a, status->erasure_id)));
  }
  auto done = (*service)->get(status->erasure_id);
  REQUIRE(done);
  REQUIRE(*done);
  CHECK((*done)->state == "complete");
  CHECK((*done)->completed_at > 0);
  for (const auto& a : (*done)->agents) {
    CHECK(a.confirmed_at > 0);
    CHECK(a.events_purged == 4);
  }
  // Complete: nothing left to re-broadcast, and the identifiers are no longer kept.
  clock->advance(std::chrono::minutes(6));
  (*service)->rebroadcast_due();
  CHECK(world.published.size() == 2);
  CHECK(metrics.render().find("aisle_collector_erasure_receipts_total{outcome=\"refused\"} 2") !=
        std::string::npos);
  CHECK(std::count(world.audit.begin(), world.audit.end(), "admin:ops erasure_requested") == 1);
  CHECK(std::count(world.audit.begin(), world.audit.end(), "collector erasure_completed") == 1);
  auto recent = (*service)->recent(10);
  REQUIRE(recent);
  CHECK(recent->size() == 1);
}

TEST_CASE("an erasure interrupted before its events were deleted resumes at the next start",
          "[collector][privacy][erasure]") {
  test::TempDir dir;
  World world;
  world.delete_works = false;
  world.agents.clear();  // no agents: complete as soon as the events are gone
  metrics::Registry metrics;
  auto clock = std::make_shared<ManualClock>();
  ErasureOptions options{dir.file("erasures.db"), "acme", std::chrono::minutes(5)};
  std::string erasure_id;
  {
    auto service = ErasureService::open(options, world.deps(), clock, metrics);
    REQUIRE(service);
    auto status = (*service)->erase("p-1", "admin:ops");
    REQUIRE(status);
    CHECK(status->state == "deleting_events");
    erasure_id = status->erasure_id;
    CHECK(world.events.size() == 4);
  }
  world.delete_works = true;
  metrics::Registry metrics2;
  auto service = ErasureService::open(options, world.deps(), clock, metrics2);
  REQUIRE(service);
  (*service)->start();
  auto status = (*service)->get(erasure_id);
  (*service)->stop();
  REQUIRE(status);
  REQUIRE(*status);
  CHECK((*status)->state == "complete");
  CHECK((*status)->events_deleted == 3);
  CHECK(world.events == std::set<std::string>{"other"});
}
