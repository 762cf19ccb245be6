// CommitHooks: what the collector does around every commit of accepted events, whatever the way
// in (agent batches, HTTP ingest, quarantine replay): the privacy policy before the commit (an
// event may be dropped or anonymized, docs/privacy.md), identity resolution and consent after it.
// The ingest code stays ignorant of both; tests run it without hooks.
#pragma once

#include <vector>

#include "collector/store/event_store.hpp"
#include "common/event.hpp"

namespace aisle::collector {

class CommitHooks {
 public:
  virtual ~CommitHooks() = default;
  // `events` is parallel to request.events: the decoded envelope of each (properties may be
  // empty: the stored payload is authoritative). The hook may remove entries from both (kept
  // parallel) or rewrite payloads; it counts what it did in its own metrics.
  virtual void before_commit(CommitRequest& request, std::vector<Event>& events) = 0;
  // After a successful commit, with the same (possibly edited) request; result.duplicate_flags
  // tells which events were newly stored. Called in commit order from one thread at a time.
  virtual void after_commit(const CommitRequest& request, const std::vector<Event>& events,
                            const CommitResult& result) = 0;
};

}  // namespace aisle::collector
