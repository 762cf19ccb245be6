// Helpers shared by the segment engine tests: an engine on a temp dir with a manual clock, a
// capturing sink, an event history the backfill replays, and event builders.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "collector/segments/segment_engine.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector::segments::test_util {

// Aligned to 1 h, so bucket boundaries of the usual windows fall on whole offsets.
inline constexpr UnixMillis kT0 = 1'699'999'200'000;
inline constexpr std::int64_t kSec = 1000;
inline constexpr std::int64_t kMin = 60 * kSec;
inline constexpr std::int64_t kHour = 60 * kMin;
inline constexpr std::int64_t kDay = 24 * kHour;

class CaptureSink final : public SegmentChangeSink {
 public:
  void on_change(const SegmentChange& change) override {
    const std::lock_guard lock(mutex_);
    changes_.push_back(change);
  }
  std::vector<SegmentChange> take() {
    const std::lock_guard lock(mutex_);
    return std::exchange(changes_, {});
  }

 private:
  std::mutex mutex_;
  std::vector<SegmentChange> changes_;
};

struct StoredItem {
  Event event;
  std::string profile_id;
};

class EngineHarness {
 public:
  explicit EngineHarness(SegmentOptions options = {}, bool with_replay = true,
                         std::shared_ptr<ScoreProvider> scores = nullptr)
      : options_(std::move(options)), with_replay_(with_replay), scores_(std::move(scores)) {
    if (options_.path.empty()) options_.path = dir_.file("segments.db");
    reopen();
  }

  // Closes (flushing membership) and opens the engine again on the same files.
  void reopen() {
    if (engine_) engine_->stop();
    engine_.reset();
    SegmentEngineDeps deps;
    deps.clock = clock;
    deps.metrics = &metrics;
    deps.scores = scores_;
    if (with_replay_) {
      deps.replay = [this](UnixMillis since,
                           const std::function<void(const profiles::ProfiledEvent&)>& each)
          -> Status {
        // By index, re-reading the size: events sent meanwhile (during_replay) are replayed too,
        // as a store read racing with commits may do.
        for (std::size_t i = 0; i < history.size(); ++i) {
          if (i == history.size() / 2 && during_replay) std::exchange(during_replay, nullptr)();
          const StoredItem& item = history[i];
          if (item.event.occurred_at < since) continue;
          each(profiles::ProfiledEvent{&item.event, item.profile_id});
        }
        if (replay_error) return make_error(ErrorCode::kUnavailable, replay_error_message);
        return ok_status();
      };
    }
    auto opened = SegmentEngine::open(options_, deps);
    if (!opened) throw std::runtime_error(opened.error().message);
    engine_ = std::move(*opened);
    engine_->add_sink(sink);
  }

  SegmentEngine& engine() { return *engine_; }

  void set_time(UnixMillis at) { clock->set_unix_ms(at); }
  UnixMillis now() const { return clock->now_unix_ms(); }

  // Records the event in the history (the event store) and hands it to the engine.
  void send(Event event, const std::string& profile_id) {
    history.push_back(StoredItem{event, profile_id});
    engine_->on_events({profiles::ProfiledEvent{&history.back().event, profile_id}});
  }

  Event make(const std::string& type, UnixMillis occurred_at,
             nlohmann::json properties = nlohmann::json::object()) {
    Event e;
    e.event_id = "evt-" + std::to_string(++counter_);
    e.type = type;
    e.schema = "aisle/" + type + "/jsonschema/1-0-0";
    e.occurred_at = occurred_at;
    e.source.store_id = "store-0042";
    e.source.channel = Channel::kKiosk;
    e.source.agent_id = "agent-0042-a";
    e.properties = std::move(properties);
    return e;
  }

  // Sends an event that occurred now.
  void event(const std::string& profile_id, const std::string& type,
             nlohmann::json properties = nlohmann::json::object()) {
    send(make(type, now(), std::move(properties)), profile_id);
  }

  std::uint32_t put(const std::string& id, const nlohmann::json& definition) {
    auto v = engine_->put(id, definition);
    if (!v) throw std::runtime_error(v.error().message);
    engine_->run_backfills();
    return *v;
  }

  aisle::test::TempDir dir_{"aisle-segments"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kT0);
  metrics::Registry metrics;
  std::shared_ptr<CaptureSink> sink = std::make_shared<CaptureSink>();
  std::deque<StoredItem> history;  // deque: pointers handed to on_events stay valid
  std::function<void()> during_replay;  // called once, half-way through a replay
  bool replay_error = false;
  std::string replay_error_message = "event store unavailable";

 private:
  SegmentOptions options_;
  bool with_replay_;
  std::shared_ptr<ScoreProvider> scores_;
  std::unique_ptr<SegmentEngine> engine_;
  int counter_ = 0;
};

}  // namespace aisle::collector::segments::test_util
