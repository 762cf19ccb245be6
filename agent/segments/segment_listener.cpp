#include "agent/segments/segment_listener.hpp"

#include <algorithm>

#include "common/config.hpp"
#include "common/log.hpp"

namespace aisle::agent {
namespace {

using nlohmann::json;

const log::Logger kLog("agent.segments");

Error option_error(const std::string& key, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, "segments." + key + ": " + message);
}

Status read_count(const json& j, const std::string& key, std::size_t min, std::size_t max,
                  std::size_t& out) {
  if (!j.is_number_integer() || j.get<std::int64_t>() < static_cast<std::int64_t>(min) ||
      j.get<std::int64_t>() > static_cast<std::int64_t>(max)) {
    return option_error(key, "must be an integer from " + std::to_string(min) + " to " +
                                 std::to_string(max));
  }
  out = static_cast<std::size_t>(j.get<std::int64_t>());
  return ok_status();
}

}  // namespace

Result<SegmentListenerOptions> parse_segment_listener_options(const json& section) {
  SegmentListenerOptions o;
  if (section.is_null()) return o;
  if (!section.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "segments: must be an object");
  }
  for (const auto& [key, value] : section.items()) {
    Status status;
    if (key == "enabled") {
      if (!value.is_boolean()) return option_error(key, "must be true or false");
      o.enabled = value.get<bool>();
    } else if (key == "ring_capacity") {
      status = read_count(value, key, 1, 1'000'000, o.ring_capacity);
    } else if (key == "max_profiles") {
      status = read_count(value, key, 1, 10'000'000, o.max_profiles);
    } else if (key == "max_segments_per_profile") {
      status = read_count(value, key, 1, 100'000, o.max_segments_per_profile);
    } else if (key == "max_waiters") {
      status = read_count(value, key, 1, 1000, o.max_waiters);
    } else if (key == "max_page") {
      status = read_count(value, key, 1, 100'000, o.max_page);
    } else if (key == "max_wait") {
      auto ms = parse_duration_ms(value);
      if (!ms || *ms < 0 || *ms > 300'000) {
        return option_error(key, "must be a duration (\"25s\") from 0 to 300 s");
      }
      o.max_wait = std::chrono::milliseconds(*ms);
    } else {
      return option_error(key, "unknown key");
    }
    if (!status) return status.error();
  }
  return o;
}

SegmentListener::SegmentListener(Uplink& uplink, wire::AgentAddress address,
                                 SegmentListenerOptions options, metrics::Registry& metrics,
                                 ClockPtr clock)
    : uplink_(uplink),
      address_(std::move(address)),
      options_(std::move(options)),
      clock_(std::move(clock)),
      last_seq_(static_cast<std::uint64_t>(std::max<UnixMillis>(0, clock_->now_unix_ms())) * 1000),
      received_(metrics.counter("aisle_agent_segment_changes_total",
                                "Segment changes received from the collector by outcome",
                                {{"outcome", "applied"}})),
      duplicates_(metrics.counter("aisle_agent_segment_changes_total",
                                  "Segment changes received from the collector by outcome",
                                  {{"outcome", "duplicate"}})),
      refused_(metrics.counter("aisle_agent_segment_messages_refused_total",
                               "Segment downlink messages that could not be decoded")),
      stale_(metrics.counter("aisle_agent_segment_changes_total",
                             "Segment changes received from the collector by outcome",
                             {{"outcome", "stale"}})),
      evicted_(metrics.counter("aisle_agent_segment_profiles_evicted_total",
                               "Profiles whose memberships were forgotten (max_profiles)")),
      waiters_refused_(metrics.counter(
          "aisle_agent_segment_long_polls_refused_total",
          "Long polls of /v1/segments/changes refused because max_waiters were waiting")) {
  if (options_.ring_capacity == 0) options_.ring_capacity = 1;
  if (options_.max_profiles == 0) options_.max_profiles = 1;
  metrics.gauge_callback("aisle_agent_segment_profiles", "Profiles with known memberships", {},
                         [this] {
                           const std::lock_guard lock(mutex_);
                           return static_cast<double>(profiles_.size());
                         });
}

SegmentListener::~SegmentListener() { stop(); }

void SegmentListener::attach() {
  uplink_.subscribe(wire::downlink_topic(address_, "segment"),
                    [this](std::string payload) { on_message(payload); });
}

void SegmentListener::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  arrived_.notify_all();
}

void SegmentListener::on_message(const std::string& payload) {
  auto changes = wire::decode_segment_changes(payload);
  if (!changes) {
    refused_.inc();
    kLog.warn("unreadable segment change message", {{"error", changes.error().message}});
    return;
  }
  const UnixMillis now = clock_->now_unix_ms();
  {
    const std::lock_guard lock(mutex_);
    for (auto& change : *changes) {
      if (ring_ids_.count(change.change_id)) {
        duplicates_.inc();
        continue;
      }
      apply_locked(change);
      ring_ids_.insert(change.change_id);
      ring_.push_back({++last_seq_, std::move(change), now});
      if (ring_.size() > options_.ring_capacity) {
        ring_ids_.erase(ring_.front().change.change_id);
        ring_.pop_front();
      }
      received_.inc();
    }
  }
  arrived_.notify_all();
}

void SegmentListener::apply_locked(const wire::SegmentChangeMessage& change) {
  auto it = profiles_.find(change.profile_id);
  if (it == profiles_.end()) {
    if (!change.entered) return;  // leaving a segment we never saw it in: nothing to forget
    if (profiles_.size() >= options_.max_profiles) {
      profiles_.erase(lru_.back());
      lru_.pop_back();
      evicted_.inc();
    }
    lru_.push_front(change.profile_id);
    it = profiles_.emplace(change.profile_id, Profile{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  auto& segments = it->second.segments;
  auto state = segments.find(change.segment_id);
  if (state != segments.end() && state->second.at > change.at) {
    stale_.inc();  // an older decision arriving late does not undo a newer one
    return;
  }
  if (state == segments.end()) {
    if (segments.size() >= options_.max_segments_per_profile) {
      // Forget the oldest non-member state first, else the oldest membership.
      auto victim = std::min_element(segments.begin(), segments.end(), [](auto& a, auto& b) {
        return std::make_pair(a.second.member, a.second.at) <
               std::make_pair(b.second.member, b.second.at);
      });
      segments.erase(victim);
    }
    state = segments.emplace(change.segment_id, SegmentState{}).first;
  }
  state->second.member = change.entered;
  state->second.version = change.version;
  state->second.at = change.at;
}

SegmentListener::ChangesPage SegmentListener::page_locked(std::uint64_t since,
                                                          std::size_t limit) const {
  ChangesPage page;
  page.next = since;
  const std::uint64_t oldest = ring_.empty() ? last_seq_ + 1 : ring_.front().seq;
  if (since + 1 < oldest || since > last_seq_) {
    page.reset = true;
    since = oldest - 1;
    page.next = since;
  }
  // Seqs in the ring are consecutive: index arithmetic finds the first one after `since`.
  std::size_t start = ring_.empty() ? 0 : static_cast<std::size_t>(since + 1 - oldest);
  for (std::size_t i = start; i < ring_.size() && page.changes.size() < limit; ++i) {
    page.changes.push_back(ring_[i]);
    page.next = ring_[i].seq;
  }
  return page;
}

Result<SegmentListener::ChangesPage> SegmentListener::changes_since(
    std::uint64_t since, std::size_t limit, std::chrono::milliseconds wait) {
  limit = std::clamp<std::size_t>(limit, 1, options_.max_page);
  wait = std::clamp(wait, std::chrono::milliseconds(0), options_.max_wait);
  std::unique_lock lock(mutex_);
  auto page = page_locked(since, limit);
  if (!page.changes.empty() || page.reset || wait.count() == 0) return page;
  if (waiters_ >= options_.max_waiters) {
    waiters_refused_.inc();
    return make_error(ErrorCode::kResourceExhausted,
                      "too many long polls waiting (segments.max_waiters = " +
                          std::to_string(options_.max_waiters) + ")");
  }
  ++waiters_;
  arrived_.wait_for(lock, wait, [&] { return stopping_ || last_seq_ > since; });
  --waiters_;
  return page_locked(since, limit);
}

std::optional<std::vector<Membership>> SegmentListener::memberships(
    const std::string& profile_id) {
  const std::lock_guard lock(mutex_);
  auto it = profiles_.find(profile_id);
  if (it == profiles_.end()) return std::nullopt;
  std::vector<Membership> out;
  for (const auto& [segment, state] : it->second.segments) {
    if (state.member) out.push_back({segment, state.version, state.at});
  }
  return out;
}

std::uint64_t SegmentListener::last_seq() const {
  const std::lock_guard lock(mutex_);
  return last_seq_;
}

}  // namespace aisle::agent
