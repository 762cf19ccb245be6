// The end-to-end guarantee as a Catch2 check, shared by the integration and fault tests: after
// the producers stopped and the pipeline drained, the collector's database holds every event a
// producer was answered 202 for exactly once, nothing it was never sent, and the collector
// detected no batch-sequence gaps.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/pipeline_env.hpp"

namespace aisle::test {

// Must be called inside a TEST_CASE (uses REQUIRE/CHECK). `accepted`: ids answered 202;
// `unknown`: ids whose requests were never definitively answered (may be stored, at most once);
// `stores`: the stores these producers posted for (other rows are ignored). Waits up to
// `drain_timeout` for every agent's outbox to empty and the collector to hold the accepted count.
void require_delivered_exactly_once(
    const PipelineEnv& env, const std::vector<std::string>& accepted,
    const std::vector<std::string>& unknown, const std::vector<std::string>& stores,
    std::chrono::milliseconds drain_timeout = std::chrono::milliseconds(60000));

}  // namespace aisle::test
