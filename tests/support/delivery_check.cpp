#include "tests/support/delivery_check.hpp"

#include <catch2/catch.hpp>
#include <unordered_set>

#include "tests/support/collector_db.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {

void require_delivered_exactly_once(const PipelineEnv& env,
                                    const std::vector<std::string>& accepted,
                                    const std::vector<std::string>& unknown,
                                    const std::vector<std::string>& stores,
                                    std::chrono::milliseconds drain_timeout) {
  const std::unordered_set<std::string> distinct(accepted.begin(), accepted.end());
  std::string state;
  const bool drained = wait_for_drain(env, distinct.size(), 0, drain_timeout, &state);
  INFO("pipeline state: " << state);
  REQUIRE(drained);

  auto db = read_collector_db(env.collector_db());
  INFO((db ? std::string() : db.error().message));
  REQUIRE(db);
  const ExactlyOnceReport report =
      check_exactly_once(accepted, unknown, event_ids(db->events, stores));
  INFO("exactly once: " << report.describe());
  CHECK(report.missing.empty());
  CHECK(report.extra.empty());
  CHECK(report.stored == report.stored_distinct);
  // The store's own counter (what /v1/status reports) agrees with its rows.
  CHECK(db->events_counter == static_cast<std::int64_t>(db->events.size()));

  // Batches are gap-free per stream and an agent forms batch n + window only after batch n was
  // acknowledged (docs/protocol.md), so nothing that was delivered may be counted as a gap.
  const HttpResponse agents = env.collector_admin().get("/v1/agents");
  INFO(agents.describe(2000));
  REQUIRE(agents.status == 200);
  const nlohmann::json body = agents.json();
  for (const auto& agent : body["agents"]) {
    INFO(agent.dump());
    CHECK(agent["gaps"] == 0);
    CHECK(agent["contiguous_batch_seq"] == agent["max_batch_seq"]);
  }
  const HttpResponse metrics = env.collector().get("/metrics");
  CHECK(metric_value(metrics.body, "aisle_collector_sequence_gaps_total").value_or(0) == 0);
}

}  // namespace aisle::test
