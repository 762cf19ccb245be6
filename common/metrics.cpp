#include "common/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace aisle::metrics {
namespace {

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void escape_label_value(std::string& out, const std::string& v) {
  for (const char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

// Inserts `extra` (e.g. le="0.5") into a rendered label set.
std::string with_label(const std::string& rendered, const std::string& extra) {
  if (rendered.empty()) return "{" + extra + "}";
  return rendered.substr(0, rendered.size() - 1) + "," + extra + "}";
}

const char* kind_name(int kind) {
  return kind == 0 ? "counter" : kind == 1 ? "gauge" : "histogram";
}

}  // namespace

std::string render_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    escape_label_value(out, labels[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::observe(double value) {
  std::size_t i = 0;
  while (i < upper_bounds_.size() && value > upper_bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

double Histogram::quantile(double q) const {
  const std::uint64_t total = count();
  if (total == 0) return 0;
  const double rank = q * static_cast<double>(total);
  double cumulative = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    const double in_bucket = static_cast<double>(buckets_[i].load());
    if (cumulative + in_bucket >= rank && in_bucket > 0) {
      if (i == upper_bounds_.size()) return upper_bounds_.empty() ? 0 : upper_bounds_.back();
      const double lower = i == 0 ? 0 : upper_bounds_[i - 1];
      return lower + (upper_bounds_[i] - lower) * (rank - cumulative) / in_bucket;
    }
    cumulative += in_bucket;
  }
  return upper_bounds_.empty() ? 0 : upper_bounds_.back();
}

std::vector<double> latency_buckets_seconds() {
  return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
std::vector<double> size_buckets_bytes() {
  std::vector<double> out;
  for (double b = 256; b <= 16 * 1024 * 1024; b *= 4) out.push_back(b);
  return out;
}
std::vector<double> count_buckets() { return {1, 5, 10, 50, 100, 500, 1000, 5000, 10000}; }

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   Kind kind) {
  auto [it, inserted] = families_.try_emplace(name, Family{kind, help, {}});
  if (!inserted && it->second.kind != kind) {
    // Two components disagreeing on a metric's type is a programming error.
    throw std::logic_error("metric " + name + " registered with two different types");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, Kind::kCounter).series[render_labels(labels)];
  if (!series.counter) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, Kind::kGauge).series[render_labels(labels)];
  if (!series.gauge) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& series = family(name, help, Kind::kHistogram).series[render_labels(labels)];
  if (!series.histogram) series.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *series.histogram;
}

void Registry::gauge_callback(const std::string& name, const std::string& help,
                              const Labels& labels, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, help, Kind::kGauge).series[render_labels(labels)].callback = std::move(read);
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& [name, fam] : families_) {
    out += "# HELP " + name + " " + fam.help + "\n";
    out += "# TYPE " + name + " " + kind_name(static_cast<int>(fam.kind)) + "\n";
    for (const auto& [labels, series] : fam.series) {
      if (series.histogram) {
        const Histogram& h = *series.histogram;
        std::uint64_t cumulative = 0;
        const auto& bounds = h.upper_bounds();
        for (std::size_t i = 0; i < bounds.size(); ++i) {
          cumulative += h.bucket_count(i);
          out += name + "_bucket" + with_label(labels, "le=\"" + format_number(bounds[i]) + "\"") +
                 " " + std::to_string(cumulative) + "\n";
        }
        out += name + "_bucket" + with_label(labels, "le=\"+Inf\"") + " " +
               std::to_string(h.count()) + "\n";
        out += name + "_sum" + labels + " " + format_number(h.sum()) + "\n";
        out += name + "_count" + labels + " " + std::to_string(h.count()) + "\n";
      } else {
        const double v = series.callback  ? series.callback()
                         : series.counter ? series.counter->value()
                         : series.gauge   ? series.gauge->value()
                                          : 0;
        out += name + labels + " " + format_number(v) + "\n";
      }
    }
  }
  return out;
}

double Registry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(mutex_);
  auto fam = families_.find(name);
  if (fam == families_.end()) return 0;
  auto it = fam->second.series.find(render_labels(labels));
  if (it == fam->second.series.end()) return 0;
  const Series& s = it->second;
  if (s.callback) return s.callback();
  if (s.counter) return s.counter->value();
  if (s.gauge) return s.gauge->value();
  if (s.histogram) return static_cast<double>(s.histogram->count());
  return 0;
}

std::vector<std::pair<std::string, double>> Registry::values(const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, double>> out;
  auto fam = families_.find(name);
  if (fam == families_.end()) return out;
  for (const auto& [labels, s] : fam->second.series) {
    if (s.callback) out.emplace_back(labels, s.callback());
    else if (s.counter) out.emplace_back(labels, s.counter->value());
    else if (s.gauge) out.emplace_back(labels, s.gauge->value());
  }
  return out;
}

}  // namespace aisle::metrics
