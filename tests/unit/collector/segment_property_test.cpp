// Property: for random event streams and random rules (seeded), the incremental engine's
// membership equals a brute-force recomputation from the raw event history, checked after every
// step. The reference shares only the documented semantics (docs/segments.md, "Windows"): an
// event at t counts while now < (floor(t/g) + 1) * g + window, g = window / 60 rounded down to
// whole seconds (at least 1 s); events older than now - allowed_lateness when processed do not
// touch windows; a profile is decided for a segment once it sent an event of a type the segment
// depends on.
#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "tests/unit/collector/segment_test_util.hpp"

namespace aisle::collector::segments {
namespace {

using nlohmann::json;
using namespace test_util;

constexpr std::int64_t kLatenessMs = 120 * kSec;

struct Raw {
  Event event;
  std::string profile;
  UnixMillis processed_at = 0;
};

class RuleGenerator {
 public:
  explicit RuleGenerator(std::mt19937_64& rng) : rng_(rng) {}

  json condition(int depth) {
    const int pick = pick_int(0, depth > 0 ? 9 : 6);
    if (pick >= 7 && depth > 0) {
      if (pick == 9) return {{"not", condition(depth - 1)}};
      json list = json::array();
      const int n = pick_int(1, 3);
      for (int i = 0; i < n; ++i) list.push_back(condition(depth - 1));
      return {{pick == 7 ? "all" : "any", list}};
    }
    return leaf(pick);
  }

 private:
  int pick_int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <typename T>
  T pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick_int(0, static_cast<int>(v.size()) - 1))];
  }
  std::string op() { return pick<std::string>({"==", "!=", ">", ">=", "<", "<="}); }

  json where() {
    json list = json::array();
    switch (pick_int(0, 3)) {
      case 0: list.push_back({{"property", "x"}, {"op", op()}, {"value", pick_int(0, 9)}}); break;
      case 1:
        list.push_back({{"property", "k"}, {"op", "in"}, {"value", json::array({"p", "q"})}});
        break;
      case 2: list.push_back({{"property", "k"}, {"op", "exists"}}); break;
      default: break;
    }
    return list;
  }

  json leaf(int kind) {
    const std::string event = pick<std::string>({"a", "b", "c"});
    const std::string window = pick<std::string>({"10s", "1m", "5m", "30m"});
    json spec = {{"event", event}, {"window", window}, {"op", op()}};
    json w = where();
    if (!w.empty()) spec["where"] = w;
    switch (kind) {
      case 0:
        spec["value"] = pick_int(0, 4);
        return {{"count", spec}};
      case 1:
        spec["property"] = "x";
        spec["value"] = pick_int(0, 30);
        return {{"sum", spec}};
      case 2:
      case 3:
      case 4: {
        spec["property"] = "x";
        spec["value"] = pick_int(0, 9);
        const char* name = kind == 2 ? "avg" : kind == 3 ? "max" : "min";
        return {{name, spec}};
      }
      case 5:
        spec["property"] = pick<std::string>({"k", "x"});
        spec["value"] = pick_int(0, 3);
        return {{"distinct", spec}};
      default: {
        json r = {{"event", event},
                  {"op", pick<std::string>({">", ">=", "<", "<="})},
                  {"value", pick<std::string>({"20s", "2m"})},
                  {"if_never", pick_int(0, 1) == 1}};
        if (!w.empty()) r["where"] = w;
        return {{"recency", r}};
      }
    }
  }

  std::mt19937_64& rng_;
};

// ---- the reference ---------------------------------------------------------------------------

bool compare(double a, const std::string& op, double b) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "<") return a < b;
  return a <= b;
}

bool matches_where(const Event& e, const json& spec) {
  if (!spec.contains("where")) return true;
  for (const auto& p : spec["where"]) {
    const std::string prop = p["property"];
    const std::string op = p["op"];
    const bool has = e.properties.contains(prop);
    if (op == "exists") {
      if (!has) return false;
    } else if (op == "in") {
      if (!has) return false;
      bool any = false;
      for (const auto& v : p["value"]) any = any || e.properties[prop] == v;
      if (!any) return false;
    } else if (!has) {
      if (op != "!=") return false;
    } else if (!compare(e.properties[prop].get<double>(), op, p["value"].get<double>())) {
      return false;
    }
  }
  return true;
}

std::int64_t granularity(std::int64_t window) {
  std::int64_t g = window / 60;
  g -= g % 1000;
  return std::max<std::int64_t>(g, 1000);
}

std::int64_t duration(const std::string& text) { return *parse_duration_ms(text); }

bool reference(const json& c, const std::vector<const Raw*>& events, UnixMillis now) {
  const std::string& key = c.begin().key();
  const json& spec = c.begin().value();
  if (key == "all") {
    for (const auto& child : spec) {
      if (!reference(child, events, now)) return false;
    }
    return true;
  }
  if (key == "any") {
    for (const auto& child : spec) {
      if (reference(child, events, now)) return true;
    }
    return false;
  }
  if (key == "not") return !reference(spec, events, now);
  std::vector<const Event*> accepted;
  for (const Raw* r : events) {
    if (r->event.occurred_at < r->processed_at - kLatenessMs) continue;  // late
    if (r->event.type != spec["event"] || !matches_where(r->event, spec)) continue;
    accepted.push_back(&r->event);
  }
  if (key == "recency") {
    if (accepted.empty()) return spec["if_never"].get<bool>();
    UnixMillis last = 0;
    for (const Event* e : accepted) last = std::max(last, e->occurred_at);
    return compare(static_cast<double>(now - last), spec["op"], static_cast<double>(duration(spec["value"])));
  }
  const std::int64_t window = duration(spec["window"]);
  const std::int64_t g = granularity(window);
  std::vector<const Event*> live;
  for (const Event* e : accepted) {
    if ((e->occurred_at / g + 1) * g + window > now) live.push_back(e);
  }
  const double threshold = spec["value"].get<double>();
  if (key == "count") return compare(static_cast<double>(live.size()), spec["op"], threshold);
  const std::string prop = spec["property"];
  std::vector<double> values;
  std::set<std::string> distinct;
  for (const Event* e : live) {
    if (!e->properties.contains(prop)) continue;
    if (key == "distinct") {
      distinct.insert(e->properties[prop].dump());
    } else {
      values.push_back(e->properties[prop].get<double>());
    }
  }
  if (key == "distinct") return compare(static_cast<double>(distinct.size()), spec["op"], threshold);
  double sum = 0;
  for (double v : values) sum += v;
  if (key == "sum") return compare(sum, spec["op"], threshold);
  if (values.empty()) return false;
  if (key == "avg") return compare(sum / static_cast<double>(values.size()), spec["op"], threshold);
  if (key == "max") return compare(*std::max_element(values.begin(), values.end()), spec["op"], threshold);
  return compare(*std::min_element(values.begin(), values.end()), spec["op"], threshold);
}

// Window lengths and recency durations of a rule, to aim checkpoints at exact boundaries.
void spans_of(const json& c, std::set<std::int64_t>& windows, std::set<std::int64_t>& durations) {
  const std::string& key = c.begin().key();
  const json& spec = c.begin().value();
  if (key == "all" || key == "any") {
    for (const auto& child : spec) spans_of(child, windows, durations);
  } else if (key == "not") {
    spans_of(spec, windows, durations);
  } else if (key == "recency") {
    durations.insert(duration(spec["value"]));
  } else {
    windows.insert(duration(spec["window"]));
  }
}

// The earliest time after `now` at which some event leaves some window or crosses a recency
// threshold (0 when none): the instants an off-by-one in the engine would show.
UnixMillis next_boundary(const std::vector<Raw>& raw, const std::set<std::int64_t>& windows,
                         const std::set<std::int64_t>& durations, UnixMillis now) {
  UnixMillis best = 0;
  auto consider = [&](UnixMillis at) {
    if (at > now && (best == 0 || at < best)) best = at;
  };
  for (const Raw& r : raw) {
    const UnixMillis t = r.event.occurred_at;
    for (std::int64_t w : windows) consider((t / granularity(w) + 1) * granularity(w) + w);
    for (std::int64_t d : durations) {
      consider(t + d);
      consider(t + d + 1);
    }
  }
  return best;
}

void types_of(const json& c, std::set<std::string>& out) {
  const std::string& key = c.begin().key();
  const json& spec = c.begin().value();
  if (key == "all" || key == "any") {
    for (const auto& child : spec) types_of(child, out);
  } else if (key == "not") {
    types_of(spec, out);
  } else {
    out.insert(spec["event"].get<std::string>());
  }
}

TEST_CASE("incremental membership equals a brute-force recomputation (random rules and streams)",
          "[collector][segments][property]") {
  std::size_t checks = 0;
  std::size_t members = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    SegmentOptions options;
    options.allowed_lateness = std::chrono::milliseconds(kLatenessMs);
    EngineHarness h(options);
    RuleGenerator gen(rng);
    std::vector<json> rules;
    std::vector<std::set<std::string>> rule_types;
    std::set<std::int64_t> windows;
    std::set<std::int64_t> durations;
    for (int i = 0; i < 3; ++i) {
      rules.push_back(gen.condition(2));
      rule_types.emplace_back();
      types_of(rules.back(), rule_types.back());
      spans_of(rules.back(), windows, durations);
      h.put("r" + std::to_string(i), {{"condition", rules.back()}});
    }
    std::vector<Raw> raw;
    raw.reserve(400);
    const std::vector<std::string> profiles = {"p0", "p1", "p2", "p3", "p4"};
    auto roll = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    UnixMillis now = kT0 + roll(0, 59'999);
    for (int step = 0; step < 300; ++step) {
      const UnixMillis boundary = next_boundary(raw, windows, durations, now);
      if (boundary != 0 && roll(0, 2) == 0) {
        now = boundary;  // exactly when something leaves a window; a tick-only step
      } else {
        now += roll(0, 9) == 0 ? roll(0, 40 * 60) * kSec : roll(0, 15'000);
      }
      h.set_time(now);
      if (now != boundary && roll(0, 5) != 0) {
        Raw r;
        r.profile = profiles[static_cast<std::size_t>(roll(0, 4))];
        r.processed_at = now;
        const UnixMillis occurred = roll(0, 6) == 0 ? now - roll(0, 180'000) : now;
        json props = {{"x", roll(0, 9)}};
        if (roll(0, 3) != 0) props["k"] = std::string(1, static_cast<char>('p' + roll(0, 3)));
        r.event = h.make(std::string(1, static_cast<char>('a' + roll(0, 2))), occurred, props);
        raw.push_back(r);
        h.send(r.event, r.profile);
      }
      h.engine().tick(now);
      for (std::size_t i = 0; i < rules.size(); ++i) {
        for (const auto& profile : profiles) {
          std::vector<const Raw*> mine;
          bool known = false;
          for (const Raw& r : raw) {
            if (r.profile != profile) continue;
            mine.push_back(&r);
            known = known || rule_types[i].count(r.event.type) > 0;
          }
          const bool expected = known && reference(rules[i], mine, now);
          ++checks;
          members += expected ? 1 : 0;
          const bool actual = h.engine().is_member("r" + std::to_string(i), profile);
          if (expected != actual) {
            FAIL("seed " << seed << " step " << step << " rule " << rules[i].dump() << " profile "
                         << profile << " at +" << (now - kT0) << " ms: engine " << actual
                         << ", reference " << expected);
          }
        }
      }
    }
  }
  // Not a vacuous property: a fair share of the checks expect membership.
  INFO(members << " of " << checks << " checks expected a member");
  CHECK(members * 10 > checks);
  CHECK(checks == 40u * 300 * 3 * 5);
}

}  // namespace
}  // namespace aisle::collector::segments
