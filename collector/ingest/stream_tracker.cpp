#include "collector/ingest/stream_tracker.hpp"

#include <algorithm>

#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.streams");
constexpr std::size_t kSkewSamples = 32;

}  // namespace

StreamTracker::StreamTracker(metrics::Registry& metrics)
    : metrics_(metrics),
      gaps_total_(metrics.counter("aisle_collector_sequence_gaps_total",
                                  "Agent batches that never arrived (sequence gaps)")) {}

void StreamTracker::load(const std::vector<StreamProgress>& progress) {
  std::vector<std::pair<std::string, AgentState>> loaded;
  {
    std::lock_guard lock(mutex_);
    for (const auto& p : progress) {
      Stream& stream = streams_[p.stream_id];
      stream.contiguous = p.contiguous_batch_seq;
      stream.max_seen = p.max_batch_seq;
      // Batches between contiguous and max that were committed are not known
      // individually after a restart; treat them as present (a gap there was
      // already counted before the restart).
      for (std::uint64_t n = p.contiguous_batch_seq + 1; n <= p.max_batch_seq; ++n) {
        stream.above.insert(n);
      }
      const std::string key = p.store_id + "/" + p.agent_id;
      Agent& agent = agents_[key];
      agent.state.store_id = p.store_id;
      agent.state.agent_id = p.agent_id;
      agent.state.stream_id = p.stream_id;
      agent.state.last_seen = std::max(agent.state.last_seen, p.last_committed_at);
      agent.state.contiguous_batch_seq = p.contiguous_batch_seq;
      agent.state.max_batch_seq = p.max_batch_seq;
    }
    for (const auto& [key, agent] : agents_) loaded.emplace_back(key, agent.state);
  }
  // Outside our lock: rendering metrics takes the registry's lock and then
  // ours.
  for (const auto& [key, state] : loaded) register_gauges(key, state);
}

void StreamTracker::register_gauges(const std::string& key, const AgentState& state) {
  const metrics::Labels labels{{"store_id", state.store_id}, {"agent_id", state.agent_id}};
  auto read = [this, key](auto field) {
    return [this, key, field] {
      std::lock_guard lock(mutex_);
      auto it = agents_.find(key);
      return it == agents_.end() ? 0.0 : field(it->second.state);
    };
  };
  metrics_.gauge_callback("aisle_collector_agent_last_seen_timestamp_seconds",
                          "When the agent's last batch was committed (Unix time)", labels,
                          read([](const AgentState& s) { return s.last_seen / 1000.0; }));
  metrics_.gauge_callback("aisle_collector_agent_clock_skew_seconds",
                          "Estimated agent clock minus collector clock", labels,
                          read([](const AgentState& s) { return s.clock_skew_ms / 1000.0; }));
  metrics_.gauge_callback("aisle_collector_agent_lag_seconds",
                          "How far behind real time the agent's last batch was", labels,
                          read([](const AgentState& s) { return s.lag_ms / 1000.0; }));
  metrics_.gauge_callback(
      "aisle_collector_agent_backlog_records",
      "Records waiting in the agent's outbox, as its last committed batch reported", labels,
      read([](const AgentState& s) { return static_cast<double>(s.backlog); }));
}

std::uint64_t StreamTracker::observe(const wire::BatchHeader& header, UnixMillis arrived_at,
                                     UnixMillis committed_at, UnixMillis oldest_received_at,
                                     std::uint32_t events) {
  std::uint64_t new_gaps = 0;
  bool new_agent = false;
  AgentState new_state;
  const std::string key = header.store_id + "/" + header.agent_id;
  {
    std::lock_guard lock(mutex_);
    Stream& stream = streams_[header.stream_id];
    const std::uint64_t seq = header.batch_seq;
    if (seq > stream.contiguous) stream.above.insert(seq);
    stream.max_seen = std::max(stream.max_seen, seq);
    // Batches at least `window` behind the newest must have been acknowledged
    // already: any still absent is a gap.
    const std::uint64_t window = std::max<std::uint32_t>(1, header.window);
    while (stream.contiguous + 1 + window <= stream.max_seen) {
      const std::uint64_t next = stream.contiguous + 1;
      auto it = stream.above.find(next);
      if (it != stream.above.end()) {
        stream.above.erase(it);
      } else {
        ++new_gaps;
        kLog.warn("sequence gap: batch never arrived", {{"store_id", header.store_id},
                                                        {"agent_id", header.agent_id},
                                                        {"stream_id", header.stream_id},
                                                        {"batch_seq", next}});
      }
      stream.contiguous = next;
    }
    while (!stream.above.empty() && *stream.above.begin() == stream.contiguous + 1) {
      stream.contiguous = *stream.above.begin();
      stream.above.erase(stream.above.begin());
    }

    auto [agent_it, inserted] = agents_.try_emplace(key);
    new_agent = inserted;
    Agent& agent = agent_it->second;
    AgentState& state = agent.state;
    if (state.stream_id != header.stream_id && !state.stream_id.empty()) {
      kLog.info("agent started a new outbox stream", {{"store_id", header.store_id},
                                                      {"agent_id", header.agent_id},
                                                      {"old_stream", state.stream_id},
                                                      {"new_stream", header.stream_id}});
    }
    state.store_id = header.store_id;
    state.agent_id = header.agent_id;
    state.stream_id = header.stream_id;
    state.last_seen = committed_at;
    ++state.batches;
    state.events += events;
    state.contiguous_batch_seq = stream.contiguous;
    state.max_batch_seq = stream.max_seen;
    state.gaps += new_gaps;
    // What was still waiting in the agent's outbox once this batch is committed.
    state.backlog = header.backlog > header.count ? header.backlog - header.count : 0;
    // Skew: the smallest (arrival - send) over recent batches bounds the clock
    // offset from above, with the network delay as error (as NTP's minimum
    // filter does).
    const std::int64_t sample = arrived_at - header.sent_at;
    if (agent.skew_samples.size() < kSkewSamples) {
      agent.skew_samples.push_back(sample);
    } else {
      agent.skew_samples[agent.next_sample] = sample;
      agent.next_sample = (agent.next_sample + 1) % kSkewSamples;
    }
    // arrival - send = transit - skew, so skew >= -(min sample).
    state.clock_skew_ms = -*std::min_element(agent.skew_samples.begin(), agent.skew_samples.end());
    if (oldest_received_at > 0) {
      state.lag_ms = committed_at - (oldest_received_at - state.clock_skew_ms);
    }
    if (new_agent) new_state = state;
  }
  // Outside our lock: rendering metrics takes the registry's lock and then
  // ours.
  if (new_agent) register_gauges(key, new_state);
  if (new_gaps) gaps_total_.inc(static_cast<double>(new_gaps));
  return new_gaps;
}

std::vector<AgentState> StreamTracker::agents() const {
  std::lock_guard lock(mutex_);
  std::vector<AgentState> out;
  for (const auto& [key, agent] : agents_) out.push_back(agent.state);
  return out;
}

}  // namespace aisle::collector
