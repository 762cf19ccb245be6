#include "collector/segments/kpi/segment_kpis.hpp"

#include <algorithm>

#include "collector/segments/learned/option_reader.hpp"

namespace aisle::collector::segments {
namespace {

constexpr std::int64_t kSecondMs = 1000;
constexpr std::int64_t kMinuteMs = 60'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

std::size_t ring_slot(std::int64_t index) {
  return static_cast<std::size_t>(((index % 60) + 60) % 60);
}

// Heap bytes of a std::string beyond the object itself (libstdc++: 15 chars inline).
std::size_t heap_of(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

struct GroupFigures {
  std::uint64_t active = 0;
  std::uint64_t converted = 0;
  std::uint64_t orders = 0;
  std::map<std::string, std::pair<double, std::uint64_t>> by_currency;  // total, orders

  nlohmann::json to_json() const {
    nlohmann::json aov = nlohmann::json::object();
    for (const auto& [currency, v] : by_currency) {
      aov[currency] = v.first / static_cast<double>(v.second);
    }
    return {{"active_profiles", active},
            {"converted_profiles", converted},
            {"conversion_rate",
             active ? nlohmann::json(static_cast<double>(converted) / static_cast<double>(active))
                    : nlohmann::json(nullptr)},
            {"orders", orders},
            {"average_order_value", std::move(aov)}};
  }
};

}  // namespace

Result<SegmentKpiOptions> parse_segment_kpi_options(const nlohmann::json& section) {
  OptionReader reader("segments.kpis", section);
  SegmentKpiOptions o;
  o.conversion_window_ms =
      reader.get_int("conversion_window_ms", o.conversion_window_ms, 60'000, 30LL * 86'400'000);
  o.max_active_profiles =
      static_cast<std::size_t>(reader.get_int("max_active_profiles", 200'000, 1, 100'000'000));
  o.max_segments = static_cast<std::size_t>(reader.get_int("max_segments", 10'000, 1, 1'000'000));
  o.max_purchases_per_profile =
      static_cast<std::size_t>(reader.get_int("max_purchases_per_profile", 16, 1, 1000));
  o.max_tracked_memberships = static_cast<std::size_t>(
      reader.get_int("max_tracked_memberships", 2'000'000, 0, 1'000'000'000));
  if (auto status = reader.finish(); !status) return status.error();
  return o;
}

void SegmentKpis::RateWindow::add(UnixMillis at) {
  const auto second = floor_div(at, kSecondMs);
  auto& s = seconds[ring_slot(second)];
  auto& s_of = second_of[ring_slot(second)];
  if (s_of != second) {
    s_of = second;
    s = 0;
  }
  ++s;
  const auto minute = floor_div(at, kMinuteMs);
  auto& m = minutes[ring_slot(minute)];
  auto& m_of = minute_of[ring_slot(minute)];
  if (m_of != minute) {
    m_of = minute;
    m = 0;
  }
  ++m;
}

std::uint64_t SegmentKpis::RateWindow::last_minute(UnixMillis now) const {
  const auto current = floor_div(now, kSecondMs);
  std::uint64_t sum = 0;
  for (std::size_t k = 0; k < 60; ++k) {
    if (second_of[k] > current - 60 && second_of[k] <= current) sum += seconds[k];
  }
  return sum;
}

std::uint64_t SegmentKpis::RateWindow::last_hour(UnixMillis now) const {
  const auto current = floor_div(now, kMinuteMs);
  std::uint64_t sum = 0;
  for (std::size_t k = 0; k < 60; ++k) {
    if (minute_of[k] > current - 60 && minute_of[k] <= current) sum += minutes[k];
  }
  return sum;
}

SegmentKpis::SegmentKpis(SegmentKpiOptions options, ClockPtr clock, metrics::Registry& metrics,
                         MembershipLookup lookup)
    : options_(options),
      clock_(std::move(clock)),
      lookup_(std::move(lookup)),
      active_gauge_(metrics.gauge("aisle_collector_segment_kpi_active_profiles",
                                  "Profiles active in the KPI conversion window")),
      changes_total_(metrics.counter("aisle_collector_segment_kpi_changes_total",
                                     "Segment changes counted by the KPIs")),
      refused_total_(metrics.counter("aisle_collector_segment_kpi_refused_total",
                                     "Segment changes or memberships not counted (max_segments, "
                                     "max_tracked_memberships)")),
      evicted_total_(metrics.counter("aisle_collector_segment_kpi_evicted_total",
                                     "Active profiles forgotten early (max_active_profiles)")) {}

void SegmentKpis::on_change(const SegmentChange& change) {
  std::lock_guard lock(mutex_);
  auto it = segments_.find(change.segment_id);
  if (it == segments_.end()) {
    if (segments_.size() >= options_.max_segments) {
      refused_total_.inc();
      return;
    }
    it = segments_.try_emplace(change.segment_id).first;
  }
  Segment& s = it->second;
  changes_total_.inc();
  const bool entered = change.kind == SegmentChangeKind::kEntered;
  (entered ? s.entries : s.exits).add(change.at);
  s.entries_minus_exits += entered ? 1 : -1;
  if (lookup_) return;
  if (entered) {
    if (tracked_memberships_ >= options_.max_tracked_memberships) {
      refused_total_.inc();
    } else if (s.members.insert(change.profile_id).second) {
      ++tracked_memberships_;
    }
  } else if (s.members.erase(change.profile_id) > 0) {
    --tracked_memberships_;
  }
}

void SegmentKpis::expire(UnixMillis now) {
  while (!active_order_.empty()) {
    auto it = active_.find(active_order_.back());
    if (now - it->second.last_active < options_.conversion_window_ms) break;
    active_.erase(it);
    active_order_.pop_back();
  }
}

void SegmentKpis::observe(const profiles::ProfiledEvent& profiled) {
  if (profiled.event == nullptr || profiled.profile_id.empty()) return;
  const Event& event = *profiled.event;
  const UnixMillis now = clock_->now_unix_ms();
  std::lock_guard lock(mutex_);
  auto it = active_.find(profiled.profile_id);
  if (it == active_.end()) {
    while (active_.size() >= options_.max_active_profiles && !active_order_.empty()) {
      active_.erase(active_order_.back());
      active_order_.pop_back();
      evicted_total_.inc();
    }
    it = active_.try_emplace(profiled.profile_id).first;
    active_order_.push_front(profiled.profile_id);
    it->second.order = active_order_.begin();
  } else {
    active_order_.splice(active_order_.begin(), active_order_, it->second.order);
  }
  Activity& a = it->second;
  a.last_active = now;
  if (event.type == "purchase") {
    const auto& p = event.properties;
    const auto type = p.find("transaction_type");
    const bool sale = type == p.end() || (type->is_string() && *type == "sale");
    const auto total = p.find("total");
    const auto currency = p.find("currency");
    if (sale && total != p.end() && total->is_number() && currency != p.end() &&
        currency->is_string()) {
      if (a.sales.size() >= options_.max_purchases_per_profile) a.sales.erase(a.sales.begin());
      a.sales.push_back(Sale{now, total->get<double>(), currency->get<std::string>()});
    }
  }
  expire(now);
  active_gauge_.set(static_cast<double>(active_.size()));
}

void SegmentKpis::on_merge(const profiles::MergeRecord& merge) {
  std::lock_guard lock(mutex_);
  auto from = active_.find(merge.from);
  if (from == active_.end()) return;
  Activity moved = std::move(from->second);
  active_order_.erase(moved.order);
  active_.erase(from);
  auto into = active_.find(merge.into);
  if (into == active_.end()) {
    into = active_.try_emplace(merge.into).first;
    active_order_.push_front(merge.into);
    into->second.order = active_order_.begin();
    into->second.last_active = moved.last_active;
  }
  Activity& a = into->second;
  a.last_active = std::max(a.last_active, moved.last_active);
  for (auto& sale : moved.sales) a.sales.push_back(std::move(sale));
  std::sort(a.sales.begin(), a.sales.end(),
            [](const Sale& x, const Sale& y) { return x.at < y.at; });
  if (a.sales.size() > options_.max_purchases_per_profile) {
    a.sales.erase(a.sales.begin(),
                  a.sales.end() - static_cast<std::ptrdiff_t>(options_.max_purchases_per_profile));
  }
  active_gauge_.set(static_cast<double>(active_.size()));
}

void SegmentKpis::forget(std::string_view profile_id) {
  std::lock_guard lock(mutex_);
  const std::string id(profile_id);
  if (auto it = active_.find(id); it != active_.end()) {
    active_order_.erase(it->second.order);
    active_.erase(it);
  }
  for (auto& [segment_id, s] : segments_) {
    if (s.members.erase(id) > 0) --tracked_memberships_;
  }
  active_gauge_.set(static_cast<double>(active_.size()));
}

nlohmann::json SegmentKpis::stats(const std::string& segment_id) const {
  const UnixMillis now = clock_->now_unix_ms();
  const UnixMillis since = now - options_.conversion_window_ms;
  struct Row {
    std::string profile_id;
    bool member = false;
    std::uint32_t sales = 0;
    std::vector<std::pair<std::string, double>> totals;
  };
  std::vector<Row> rows;
  std::int64_t size = 0;
  nlohmann::json entries = {{"last_minute", 0}, {"last_hour", 0}};
  nlohmann::json exits = entries;
  {
    std::lock_guard lock(mutex_);
    const auto seg = segments_.find(segment_id);
    if (seg != segments_.end()) {
      const Segment& s = seg->second;
      size = lookup_ ? std::max<std::int64_t>(0, s.entries_minus_exits)
                     : static_cast<std::int64_t>(s.members.size());
      entries = {{"last_minute", s.entries.last_minute(now)},
                 {"last_hour", s.entries.last_hour(now)}};
      exits = {{"last_minute", s.exits.last_minute(now)}, {"last_hour", s.exits.last_hour(now)}};
    }
    rows.reserve(active_.size());
    for (const auto& [id, a] : active_) {
      if (a.last_active < since) continue;
      Row row{id, false, 0, {}};
      if (!lookup_ && seg != segments_.end()) row.member = seg->second.members.count(id) > 0;
      for (const auto& sale : a.sales) {
        if (sale.at < since) continue;
        ++row.sales;
        row.totals.emplace_back(sale.currency, sale.total);
      }
      rows.push_back(std::move(row));
    }
  }
  GroupFigures members;
  GroupFigures others;
  for (auto& row : rows) {
    const bool member = lookup_ ? lookup_(row.profile_id, segment_id) : row.member;
    GroupFigures& g = member ? members : others;
    ++g.active;
    if (row.sales > 0) ++g.converted;
    g.orders += row.sales;
    for (const auto& [currency, total] : row.totals) {
      auto& c = g.by_currency[currency];
      c.first += total;
      ++c.second;
    }
  }
  return {{"segment_id", segment_id},
          {"size", size},
          {"entries", std::move(entries)},
          {"exits", std::move(exits)},
          {"window_seconds", options_.conversion_window_ms / 1000},
          {"members", members.to_json()},
          {"non_members", others.to_json()}};
}

std::size_t SegmentKpis::memory_bytes() const {
  std::lock_guard lock(mutex_);
  constexpr std::size_t kNodeOverhead = 2 * sizeof(void*);  // next pointer + cached hash
  std::size_t bytes =
      sizeof(*this) + (segments_.bucket_count() + active_.bucket_count()) * sizeof(void*);
  for (const auto& [id, s] : segments_) {
    bytes += sizeof(std::pair<const std::string, Segment>) + kNodeOverhead + heap_of(id) +
             s.members.bucket_count() * sizeof(void*);
    for (const auto& m : s.members) bytes += sizeof(std::string) + kNodeOverhead + heap_of(m);
  }
  for (const auto& [id, a] : active_) {
    // The map node, the order list node (a second copy of the id) and the sales.
    bytes += sizeof(std::pair<const std::string, Activity>) + kNodeOverhead + heap_of(id) +
             sizeof(std::string) + 2 * sizeof(void*) + heap_of(id) +
             a.sales.capacity() * sizeof(Sale);
    for (const auto& sale : a.sales) bytes += heap_of(sale.currency);
  }
  return bytes;
}

}  // namespace aisle::collector::segments
