// StreamTracker: per agent stream, which batches arrived (to detect gaps: batches that should
// have arrived but never did), and per agent, last-seen time, clock skew and lag.
//
// Batch numbers are gap-free per stream and an agent has at most `window` batches in flight, so
// a batch n is missing once a batch >= n + window has been committed without it. Each missing
// batch is counted once (aisle_collector_sequence_gaps_total) and logged. Dedup of batches does
// NOT rely on this class (the store's receipts do that). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "collector/store/event_store.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "common/wire/batch.hpp"

namespace aisle::collector {

struct AgentState {
  std::string store_id;
  std::string agent_id;
  std::string stream_id;
  UnixMillis last_seen = 0;        // collector clock, last batch committed
  std::int64_t clock_skew_ms = 0;  // agent clock minus collector clock (estimate, lower bound)
  std::int64_t lag_ms = 0;         // collector time of commit minus (skew-corrected) receipt time
                                   // of the oldest event of the last batch
  std::uint64_t batches = 0;
  std::uint64_t events = 0;
  std::uint64_t contiguous_batch_seq = 0;
  std::uint64_t max_batch_seq = 0;
  std::uint64_t gaps = 0;
  std::uint64_t backlog = 0;  // agent outbox records left after its last committed batch
};

class StreamTracker {
 public:
  explicit StreamTracker(metrics::Registry& metrics);

  void load(const std::vector<StreamProgress>& progress);

  // A batch was committed (or recognised as already committed). `oldest_received_at` is the
  // agent-clock receipt time of its oldest event (0 when it had none). Returns the number of
  // batches newly found missing.
  std::uint64_t observe(const wire::BatchHeader& header, UnixMillis arrived_at,
                        UnixMillis committed_at, UnixMillis oldest_received_at,
                        std::uint32_t events);

  std::vector<AgentState> agents() const;

 private:
  struct Stream {
    std::uint64_t contiguous = 0;
    std::set<std::uint64_t> above;  // committed batch numbers > contiguous
    std::uint64_t max_seen = 0;
  };
  struct Agent {
    AgentState state;
    std::vector<std::int64_t> skew_samples;  // ring of recent (arrived - sent)
    std::size_t next_sample = 0;
  };
  void register_gauges(const std::string& key, const AgentState& state);

  metrics::Registry& metrics_;
  metrics::Counter& gaps_total_;
  mutable std::mutex mutex_;
  std::map<std::string, Stream> streams_;  // by stream_id
  std::map<std::string, Agent> agents_;    // by "store/agent"
};

}  // namespace aisle::collector
