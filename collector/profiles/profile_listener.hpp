// ProfileListener: what follows identity resolution. After ProfileService::apply() attributed a
// committed batch to profiles, the collector hands the same events, with their profile ids, to
// every listener (segment evaluation, recommendation models), in commit order, from the one
// identity-resolution thread. Merges and erasures reach them too, so per-profile state they keep
// follows the identity graph.
#pragma once

#include <string>
#include <vector>

#include "collector/profiles/profile_types.hpp"
#include "common/event.hpp"

namespace aisle::collector::profiles {

// One committed event attributed to a profile ("" when it carried no identifier).
struct ProfiledEvent {
  const Event* event = nullptr;  // properties included; valid for the duration of the call
  std::string profile_id;
};

class ProfileListener {
 public:
  virtual ~ProfileListener() = default;
  // Newly stored events in commit order. Merges done by the same batch are reported first (by
  // on_merge), so profile ids here are already the survivors'.
  virtual void on_events(const std::vector<ProfiledEvent>& events) = 0;
  // `merge.from` was merged into `merge.into`: combine whatever state is kept for both.
  virtual void on_merge(const MergeRecord& merge) = 0;
  // The profile (and every profile merged into it) was erased: forget everything about them.
  virtual void on_erase(const ErasedProfile& erased) = 0;
};

}  // namespace aisle::collector::profiles
