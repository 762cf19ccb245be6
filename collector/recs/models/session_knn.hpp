// SessionKnn: session-based kNN (SKNN and V-SKNN, Ludewig & Jannach 2018), learned from the stream.
//
// Every session is indexed as its interactions arrive ("past sessions" are simply all sessions
// seen, including open ones): item -> the M most recent sessions containing it, and at most
// max_sessions sessions in total (the oldest is evicted, its postings become stale and are skipped
// until overwritten). A request takes the current session's items, gathers the sessions sharing
// one of them, keeps the sample_size most recent, scores their similarity (cosine for SKNN, the
// current session's items weighted by recency and IDF for V-SKNN), and sums the similarities of
// the k nearest over their items. The requester's own open session (found through
// RecContext::profile_id) is never its own neighbour.
//
// Optionally blended with a "re-click" score: the current session's own items, weighted by
// recency (options.reclick_weight; docs/recommendation-models.md explains why it matters).
//
// Threads: observe() from the one stream thread, candidates() from any number of request threads.
// A std::shared_mutex guards the index: requests share it, an update holds it exclusively for the
// ~1 µs it takes (bench/recs_model_bench.cpp measures both sides). Snapshots (RCU) were not
// chosen: the index changes on every interaction, and copying it is far costlier than the brief
// exclusive section.
#pragma once

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/recs/models/item_ids.hpp"
#include "collector/recs/models/model_options.hpp"
#include "collector/recs/models/model_support.hpp"
#include "collector/recs/rec_types.hpp"

namespace aisle::collector::recs {

class SessionKnn final : public CandidateSource {
 public:
  // `name` is what name() reports ("sknn", "vsknn", ...): one class, several configurations.
  SessionKnn(std::string name, SessionKnnOptions options);

  const char* name() const override { return name_.c_str(); }
  void observe(const Interaction& interaction) override;
  std::vector<Candidate> candidates(const RecContext& context, std::size_t n) const override;
  // Evicts every session of these profiles (their items, keys and ids), so an erased shopper's
  // history no longer makes a neighbour. O(sessions held): erasures are rare.
  void forget_profiles(const std::vector<std::string>& profile_ids) override;

  ModelStats stats() const;

 private:
  struct SessionRef {
    std::uint32_t slot = 0;
    std::uint32_t generation = 0;
  };
  struct Session {
    std::uint32_t generation = 0;  // 0: the slot is free
    UnixMillis last_at = 0;
    std::string key;
    std::string profile_id;
    std::vector<ItemId> items;  // distinct, first-seen order, at most max_session_items
  };
  // The most recent sessions containing an item: a ring of at most sessions_per_item refs.
  struct Postings {
    std::vector<SessionRef> refs;
    std::uint32_t head = 0;  // the oldest ref once the ring is full
  };
  struct Neighbour {
    std::uint32_t slot = 0;
    double similarity = 0;
    double match_weight = 1;
  };

  SessionRef open_session(const Interaction& interaction);
  void evict(std::uint32_t slot);
  bool live(SessionRef ref) const;
  const Session* find_profile_session(const std::string& profile_id) const;

  const std::string name_;
  const SessionKnnOptions options_;

  mutable std::shared_mutex mutex_;
  ItemIds ids_;
  std::vector<Session> sessions_;  // slots; grows to max_sessions, then reused oldest-first
  std::uint32_t next_slot_ = 0;
  std::uint32_t next_generation_ = 1;
  std::size_t live_sessions_ = 0;
  std::unordered_map<std::string, SessionRef> by_key_;
  std::unordered_map<std::string, SessionRef> by_profile_;  // the profile's latest session
  std::vector<Postings> postings_;                          // by ItemId
  std::vector<std::uint32_t> sessions_with_item_;           // by ItemId, live sessions (IDF)
  std::size_t dropped_ = 0;
};

}  // namespace aisle::collector::recs
