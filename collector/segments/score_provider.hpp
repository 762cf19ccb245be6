// ScoreProvider: learned scores a segment condition can test, `score("purchase_propensity") > 0.7`
// (docs/segments.md). The segment engine calls observe() with every profiled event before it
// evaluates that event's segments, so a score reflects the event that is being evaluated.
// Called from the engine's thread; score() may also be called from API threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/profiles/profile_listener.hpp"

namespace aisle::collector::segments {

class ScoreProvider {
 public:
  virtual ~ScoreProvider() = default;
  // Model names this provider answers for ("purchase_propensity").
  virtual std::vector<std::string> models() const = 0;
  // Updates features (and trains on labels the event reveals), then re-scores the profile.
  virtual void observe(const profiles::ProfiledEvent& event) = 0;
  // The profile's current score; nullopt when the model or the profile is unknown.
  virtual std::optional<double> score(std::string_view model,
                                      std::string_view profile_id) const = 0;
  virtual void on_merge(const profiles::MergeRecord& merge) = 0;
  virtual void forget(std::string_view profile_id) = 0;
};

}  // namespace aisle::collector::segments
