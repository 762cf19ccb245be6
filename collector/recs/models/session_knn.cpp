#include "collector/recs/models/session_knn.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace aisle::collector::recs {
namespace {

// One distinct item of the request's session.
struct CurrentItem {
  ItemId id = 0;
  std::size_t distance = 0;  // from the end of the session, 0 = the latest; the smallest kept
  double weight = 1;         // similarity weight (recency, IDF)
  double reclick = 0;        // sum over occurrences of reclick_decay^distance
};

}  // namespace

SessionKnn::SessionKnn(std::string name, SessionKnnOptions options)
    : name_(std::move(name)), options_(options), ids_(options.max_items) {}

bool SessionKnn::live(SessionRef ref) const {
  return ref.slot < sessions_.size() && sessions_[ref.slot].generation == ref.generation;
}

void SessionKnn::evict(std::uint32_t slot) {
  Session& session = sessions_[slot];
  if (session.generation == 0) return;
  for (const ItemId item : session.items) --sessions_with_item_[item];
  if (const auto it = by_key_.find(session.key);
      it != by_key_.end() && it->second.slot == slot) {
    by_key_.erase(it);
  }
  if (!session.profile_id.empty()) {
    if (const auto it = by_profile_.find(session.profile_id);
        it != by_profile_.end() && it->second.slot == slot) {
      by_profile_.erase(it);
    }
  }
  session.generation = 0;
  session.items.clear();
  --live_sessions_;
}

void SessionKnn::forget_profiles(const std::vector<std::string>& profile_ids) {
  if (profile_ids.empty()) return;
  const std::unordered_set<std::string> erased(profile_ids.begin(), profile_ids.end());
  std::unique_lock lock(mutex_);
  for (std::uint32_t slot = 0; slot < sessions_.size(); ++slot) {
    Session& session = sessions_[slot];
    if (session.generation == 0 || !erased.count(session.profile_id)) continue;
    evict(slot);  // postings that still name the slot are dead by its generation
    session.key.clear();
    session.key.shrink_to_fit();
    session.profile_id.clear();
  }
  for (const std::string& id : profile_ids) by_profile_.erase(id);
}

SessionKnn::SessionRef SessionKnn::open_session(const Interaction& interaction) {
  if (const auto it = by_key_.find(interaction.session_key); it != by_key_.end()) return it->second;
  const auto [slot, reused] = claim_ring_slot(sessions_, options_.max_sessions, next_slot_);
  if (reused) evict(slot);
  Session& session = sessions_[slot];
  session.generation = next_generation_++;
  if (next_generation_ == 0) next_generation_ = 1;  // 0 marks free slots
  session.key = interaction.session_key;
  session.profile_id = interaction.profile_id;
  session.last_at = interaction.at;
  ++live_sessions_;
  const SessionRef ref{slot, session.generation};
  by_key_[session.key] = ref;
  return ref;
}

void SessionKnn::observe(const Interaction& interaction) {
  std::unique_lock lock(mutex_);
  const auto item = ids_.intern(interaction.item);
  if (!item) {
    ++dropped_;
    return;
  }
  if (*item >= postings_.size()) {
    postings_.resize(*item + 1);
    sessions_with_item_.resize(*item + 1, 0);
  }
  const SessionRef ref = open_session(interaction);
  Session& session = sessions_[ref.slot];
  session.last_at = std::max(session.last_at, interaction.at);
  if (!interaction.profile_id.empty()) by_profile_[interaction.profile_id] = ref;
  if (std::find(session.items.begin(), session.items.end(), *item) != session.items.end()) return;
  if (session.items.size() >= options_.max_session_items) return;
  session.items.push_back(*item);
  ++sessions_with_item_[*item];
  Postings& postings = postings_[*item];
  if (postings.refs.size() < options_.sessions_per_item) {
    postings.refs.push_back(ref);
  } else {
    postings.refs[postings.head] = ref;
    postings.head = static_cast<std::uint32_t>((postings.head + 1) % postings.refs.size());
  }
}

const SessionKnn::Session* SessionKnn::find_profile_session(const std::string& profile_id) const {
  if (profile_id.empty()) return nullptr;
  const auto it = by_profile_.find(profile_id);
  if (it == by_profile_.end() || !live(it->second)) return nullptr;
  return &sessions_[it->second.slot];
}

std::vector<Candidate> SessionKnn::candidates(const RecContext& context, std::size_t n) const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> fallback;
  const std::vector<std::string>* session_items = &context.session_items;
  if (session_items->empty() && !context.context_item.empty()) {
    fallback.push_back(context.context_item);
    session_items = &fallback;
  }

  // The current session's distinct known items, sorted by id for membership tests.
  std::vector<CurrentItem> current;
  const std::size_t length = session_items->size();
  for (std::size_t i = 0; i < length; ++i) {
    const auto id = ids_.find((*session_items)[i]);
    if (!id) continue;
    const std::size_t distance = length - 1 - i;
    auto it = std::find_if(current.begin(), current.end(),
                           [&](const CurrentItem& c) { return c.id == *id; });
    if (it == current.end()) {
      current.push_back({*id, distance, 1, 0});
      it = current.end() - 1;
    }
    it->distance = std::min(it->distance, distance);
    it->reclick += std::pow(options_.reclick_decay, static_cast<double>(distance));
  }
  if (current.empty()) return {};
  const bool decayed = options_.similarity == SessionKnnOptions::Similarity::kPositionDecay;
  for (CurrentItem& item : current) {
    if (decayed) {
      item.weight = std::max(1.0 - options_.position_decay * static_cast<double>(item.distance),
                             options_.position_floor);
    }
    if (options_.idf && sessions_with_item_[item.id] > 0) {
      item.weight *= std::log(static_cast<double>(live_sessions_ + 1) /
                              static_cast<double>(sessions_with_item_[item.id]));
    }
  }
  std::sort(current.begin(), current.end(),
            [](const CurrentItem& a, const CurrentItem& b) { return a.id < b.id; });

  // Candidate sessions: those sharing an item, without the requester's own, most recent first.
  const Session* own = find_profile_session(context.profile_id);
  std::vector<std::uint32_t> sample;
  for (const CurrentItem& item : current) {
    for (const SessionRef ref : postings_[item.id].refs) {
      if (live(ref) && &sessions_[ref.slot] != own) sample.push_back(ref.slot);
    }
  }
  std::sort(sample.begin(), sample.end());
  sample.erase(std::unique(sample.begin(), sample.end()), sample.end());
  if (sample.size() > options_.sample_size) {
    const auto more_recent = [this](std::uint32_t a, std::uint32_t b) {
      const UnixMillis at_a = sessions_[a].last_at;
      const UnixMillis at_b = sessions_[b].last_at;
      return at_a != at_b ? at_a > at_b : a > b;
    };
    std::nth_element(sample.begin(),
                     sample.begin() + static_cast<std::ptrdiff_t>(options_.sample_size),
                     sample.end(), more_recent);
    sample.resize(options_.sample_size);
  }

  // Similarities.
  std::vector<Neighbour> neighbours;
  neighbours.reserve(sample.size());
  for (const std::uint32_t slot : sample) {
    const Session& session = sessions_[slot];
    double shared_weight = 0;
    std::size_t shared = 0;
    std::size_t nearest = length;
    for (const ItemId item : session.items) {
      const auto it = std::lower_bound(
          current.begin(), current.end(), item,
          [](const CurrentItem& c, ItemId id) { return c.id < id; });
      if (it == current.end() || it->id != item) continue;
      ++shared;
      shared_weight += it->weight;
      nearest = std::min(nearest, it->distance);
    }
    if (shared == 0) continue;
    Neighbour neighbour{slot, 0, 1};
    if (decayed) {
      neighbour.similarity = shared_weight / static_cast<double>(current.size());
    } else {
      neighbour.similarity = static_cast<double>(shared) /
                             std::sqrt(static_cast<double>(current.size()) *
                                       static_cast<double>(session.items.size()));
    }
    if (options_.match_decay) neighbour.match_weight = 1.0 / static_cast<double>(nearest + 1);
    neighbours.push_back(neighbour);
  }
  if (neighbours.size() > options_.neighbours) {
    std::nth_element(neighbours.begin(),
                     neighbours.begin() + static_cast<std::ptrdiff_t>(options_.neighbours),
                     neighbours.end(), [](const Neighbour& a, const Neighbour& b) {
                       return a.similarity != b.similarity ? a.similarity > b.similarity
                                                           : a.slot > b.slot;
                     });
    neighbours.resize(options_.neighbours);
  }

  // Item scores: the sum of the neighbours' similarities.
  std::unordered_map<ItemId, double> scores;
  scores.reserve(neighbours.size() * 8);
  for (const Neighbour& neighbour : neighbours) {
    for (const ItemId item : sessions_[neighbour.slot].items) {
      scores[item] += neighbour.similarity * neighbour.match_weight;
    }
  }
  if (options_.reclick_weight > 0) {
    double best = 0;
    for (const auto& [item, score] : scores) best = std::max(best, score);
    if (best > 0) {
      for (auto& [item, score] : scores) score /= best;
    }
    for (const CurrentItem& item : current) {
      scores[item.id] += options_.reclick_weight * item.reclick;
    }
  }
  std::vector<ScoredItem> ranked(scores.begin(), scores.end());
  return top_candidates(std::move(ranked), n, excluded_item(context, ids_), ids_);
}

ModelStats SessionKnn::stats() const {
  std::shared_lock lock(mutex_);
  ModelStats stats;
  stats.items = ids_.size();
  stats.sessions = live_sessions_;
  stats.dropped_interactions = dropped_;
  std::size_t bytes = ids_.approx_bytes();
  for (const Postings& postings : postings_) {
    stats.entries += postings.refs.size();
    bytes += sizeof(Postings) + postings.refs.capacity() * sizeof(SessionRef);
  }
  for (const Session& session : sessions_) {
    bytes += sizeof(Session) + session.items.capacity() * sizeof(ItemId) + session.key.capacity() +
             session.profile_id.capacity();
  }
  bytes += (by_key_.size() + by_profile_.size()) * 64 + sessions_with_item_.capacity() * 4;
  stats.approx_bytes = bytes;
  return stats;
}

}  // namespace aisle::collector::recs
