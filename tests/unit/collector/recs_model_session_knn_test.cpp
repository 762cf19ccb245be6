#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "collector/recs/models/session_knn.hpp"

namespace aisle::collector::recs {
namespace {

Interaction click(const std::string& session, const std::string& item, UnixMillis at,
                  const std::string& profile = "") {
  Interaction interaction;
  interaction.session_key = session;
  interaction.profile_id = profile;
  interaction.item = item;
  interaction.at = at;
  return interaction;
}

RecContext session_of(std::vector<std::string> items, bool exclude_current = false) {
  RecContext context;
  context.session_items = std::move(items);
  context.context_item = context.session_items.back();
  context.exclude_current = exclude_current;
  return context;
}

SessionKnnOptions plain_cosine() {
  SessionKnnOptions options;
  options.similarity = SessionKnnOptions::Similarity::kCosine;
  options.idf = false;
  options.match_decay = false;
  options.neighbours = 10;
  options.sample_size = 10;
  return options;
}

void feed(SessionKnn& model, const std::string& session, const std::vector<std::string>& items,
          UnixMillis at) {
  for (const std::string& item : items) model.observe(click(session, item, at++));
}

std::vector<std::string> names(const std::vector<Candidate>& list) {
  std::vector<std::string> result;
  for (const Candidate& candidate : list) result.push_back(candidate.item);
  return result;
}

}  // namespace

TEST_CASE("sknn scores items by the summed cosine similarity of the sessions holding them",
          "[collector][recs][sknn]") {
  SessionKnn model("sknn", plain_cosine());
  feed(model, "A", {"a", "b", "c"}, 1000);
  feed(model, "B", {"a", "d"}, 2000);
  feed(model, "C", {"e", "f"}, 3000);

  const auto list = model.candidates(session_of({"a"}), 10);
  // A: 1/sqrt(1*3), B: 1/sqrt(1*2); C shares nothing.
  const double a_sim = 1 / std::sqrt(3.0);
  const double b_sim = 1 / std::sqrt(2.0);
  REQUIRE(names(list) == std::vector<std::string>{"a", "d", "b", "c"});
  CHECK(list[0].score == Approx(a_sim + b_sim));
  CHECK(list[1].score == Approx(b_sim));
  CHECK(list[2].score == Approx(a_sim));
  CHECK(list[3].score == Approx(a_sim));

  // The item on screen is left out when the context says so; n bounds the list.
  CHECK(names(model.candidates(session_of({"a"}, true), 2)) ==
        std::vector<std::string>{"d", "b"});
  // Unknown items give nothing rather than an error.
  CHECK(model.candidates(session_of({"zzz"}), 10).empty());
}

TEST_CASE("vsknn weights the current session's items by recency and the neighbour by its match",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.similarity = SessionKnnOptions::Similarity::kPositionDecay;
  options.position_decay = 0.1;
  SessionKnn without_match("vsknn", options);
  options.match_decay = true;
  SessionKnn with_match("vsknn", options);
  for (SessionKnn* model : {&without_match, &with_match}) {
    feed(*model, "S1", {"x", "p"}, 1000);
    feed(*model, "S2", {"y", "q"}, 2000);
  }
  // Current session x, y: y (latest) weighs 1, x weighs 0.9; similarity = shared weight / 2.
  // Ties are broken by first appearance: x, p, y, q.
  const auto plain = without_match.candidates(session_of({"x", "y"}), 10);
  REQUIRE(names(plain) == std::vector<std::string>{"y", "q", "x", "p"});
  CHECK(plain[0].score == Approx(0.5));
  CHECK(plain[2].score == Approx(0.45));
  // With the match decay, S1 shares only x, one step back: its items count 1/2.
  const auto matched = with_match.candidates(session_of({"x", "y"}), 10);
  REQUIRE(names(matched) == std::vector<std::string>{"y", "q", "x", "p"});
  CHECK(matched[0].score == Approx(0.5));
  CHECK(matched[2].score == Approx(0.225));
}

TEST_CASE("session knn with idf prefers neighbours sharing a rare item",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.similarity = SessionKnnOptions::Similarity::kPositionDecay;
  options.position_decay = 0;  // every current item weighs 1 before IDF
  options.idf = true;
  options.neighbours = 1;
  SessionKnn model("vsknn", options);
  // "common" is in 4 of 5 sessions, "rare" in 1.
  feed(model, "R", {"rare", "from_rare"}, 1000);
  feed(model, "C1", {"common", "from_common"}, 2000);
  feed(model, "C2", {"common", "x1"}, 3000);
  feed(model, "C3", {"common", "x2"}, 4000);
  feed(model, "C4", {"common", "x3"}, 5000);
  const auto list = model.candidates(session_of({"rare", "common"}), 10);
  REQUIRE(list.size() == 2);
  CHECK(names(list) == std::vector<std::string>{"rare", "from_rare"});
  // log(6 / 1) / 2 current items.
  CHECK(list[0].score == Approx(std::log(6.0) / 2));
}

TEST_CASE("session knn compares only the most recent sessions sharing an item",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.sample_size = 2;
  options.neighbours = 2;
  SessionKnn model("sknn", options);
  feed(model, "old", {"a", "from_old"}, 1000);
  feed(model, "mid", {"a", "from_mid"}, 2000);
  feed(model, "new", {"a", "from_new"}, 3000);
  const auto list = names(model.candidates(session_of({"a"}, true), 10));
  CHECK(list == std::vector<std::string>{"from_mid", "from_new"});
}

TEST_CASE("session knn keeps its memory bounded by sessions and postings per item",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.max_sessions = 3;
  options.sessions_per_item = 2;
  SessionKnn model("sknn", options);
  for (int i = 0; i < 10; ++i) {
    feed(model, "s" + std::to_string(i), {"a", "u" + std::to_string(i)}, 1000 * i);
  }
  const ModelStats stats = model.stats();
  CHECK(stats.sessions == 3);  // s7, s8, s9
  CHECK(stats.items == 11);
  // Postings: "a" keeps 2 refs, u0..u9 one each (stale ones are skipped until overwritten).
  CHECK(stats.entries == 2 + 10);
  // s7 is still held, but "a" only remembers its two most recent sessions.
  CHECK(names(model.candidates(session_of({"a"}, true), 10)) ==
        std::vector<std::string>{"u8", "u9"});
}

TEST_CASE("session knn refuses new items past max_items and counts them",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.max_items = 2;
  SessionKnn model("sknn", options);
  feed(model, "s", {"a", "b", "c", "d"}, 1000);
  CHECK(model.stats().items == 2);
  CHECK(model.stats().dropped_interactions == 2);
  CHECK(names(model.candidates(session_of({"a"}), 10)) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("a shopper's own open session is not its own neighbour", "[collector][recs][sknn]") {
  SessionKnn model("sknn", plain_cosine());
  model.observe(click("mine", "a", 1000, "p1"));
  model.observe(click("mine", "b", 1001, "p1"));
  model.observe(click("other", "a", 2000, "p2"));
  model.observe(click("other", "c", 2001, "p2"));

  RecContext context = session_of({"a", "b"});
  context.profile_id = "p1";
  CHECK(names(model.candidates(context, 10)) == std::vector<std::string>{"a", "c"});
  context.profile_id.clear();  // anonymous: no session to leave out
  CHECK(names(model.candidates(context, 10)).size() == 3);
}

TEST_CASE("an erased profile's sessions no longer make neighbours", "[collector][recs][sknn]") {
  SessionKnn model("sknn", plain_cosine());
  model.observe(click("p1:s1", "a", 1000, "p1"));
  model.observe(click("p1:s1", "b", 1001, "p1"));
  model.observe(click("p2:s1", "a", 2000, "p2"));
  model.observe(click("p2:s1", "c", 2001, "p2"));
  model.observe(click("p3:s1", "a", 3000, "p3"));
  model.observe(click("p3:s1", "d", 3001, "p3"));
  CHECK(names(model.candidates(session_of({"a"}), 10)).size() == 4);  // a, b, c, d
  CHECK(model.stats().sessions == 3);

  model.forget_profiles({"p2", "p3"});
  CHECK(model.stats().sessions == 1);
  CHECK(names(model.candidates(session_of({"a"}), 10)) == std::vector<std::string>{"a", "b"});
  // The stream goes on; the erased profiles' slots are free for new sessions.
  model.observe(click("p4:s1", "a", 4000, "p4"));
  model.observe(click("p4:s1", "e", 4001, "p4"));
  CHECK(model.stats().sessions == 2);
  CHECK(names(model.candidates(session_of({"a"}), 10)).size() == 3);  // a, b, e
}

TEST_CASE("the re-click blend adds the session's own items, newest weighing most",
          "[collector][recs][sknn]") {
  SessionKnnOptions options = plain_cosine();
  options.reclick_weight = 1;
  options.reclick_decay = 0.5;
  SessionKnn model("vsknn_reclick", options);
  feed(model, "A", {"a", "b"}, 1000);
  feed(model, "B", {"c", "d"}, 2000);
  // Current: c, a, c. kNN: A (shares a) sim 1/sqrt(2*2), B (shares c) the same: a, b, c, d each
  // 0.5, normalized to 1. Re-click: c = 1 + 0.25, a = 0.5.
  const auto list = model.candidates(session_of({"c", "a", "c"}), 10);
  REQUIRE(names(list) == std::vector<std::string>{"c", "a", "b", "d"});
  CHECK(list[0].score == Approx(1 + 1.25));
  CHECK(list[1].score == Approx(1 + 0.5));
  CHECK(list[2].score == Approx(1));
}

TEST_CASE("session knn serves requests while the stream updates it", "[collector][recs][sknn]") {
  SessionKnnOptions options;
  options.max_sessions = 500;
  options.sessions_per_item = 50;
  SessionKnn model("vsknn", options);
  std::atomic<bool> done{false};
  std::atomic<std::size_t> answered{0};
  std::thread writer([&] {
    for (int i = 0; i < 20'000; ++i) {
      model.observe(click("s" + std::to_string(i / 4), "i" + std::to_string(i % 97), i));
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      // At least 200 requests each, and on while the writer runs.
      for (int i = 0; i < 200 || !done; ++i) {
        const auto list = model.candidates(session_of({"i" + std::to_string(r), "i5"}), 20);
        if (list.size() <= 20) ++answered;
      }
    });
  }
  writer.join();
  for (std::thread& reader : readers) reader.join();
  CHECK(answered >= 600);
  CHECK(model.stats().sessions == 500);
  // Sessions hold 4 consecutive items of 97: i1 neighbours a handful of items.
  CHECK_FALSE(model.candidates(session_of({"i1"}), 20).empty());
}

}  // namespace aisle::collector::recs
