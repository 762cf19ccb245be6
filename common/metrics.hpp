// Metrics: counters, gauges and histograms rendered in the Prometheus text exposition format
// (version 0.0.4). Names follow aisle_<component>_<what>_<unit>.
//
// Get a metric once (at construction of the component) and keep the reference: lookups take a
// lock, updates are lock-free atomics. References stay valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace aisle::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Approximate quantile (0..1) by linear interpolation inside the bucket, as Prometheus'
  // histogram_quantile does; for status pages and tests.
  double quantile(double q) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  std::uint64_t bucket_count(std::size_t i) const { return buckets_[i].load(); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Bucket layouts.
std::vector<double> latency_buckets_seconds();  // 0.5 ms .. 60 s
std::vector<double> size_buckets_bytes();       // 256 B .. 16 MiB
std::vector<double> count_buckets();            // 1 .. 10000

class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds, const Labels& labels = {});
  // A gauge computed at scrape time (backlog size, connection state). Thread: the scraping one.
  void gauge_callback(const std::string& name, const std::string& help, const Labels& labels,
                      std::function<double()> read);

  std::string render() const;
  // Reads a counter or gauge value by name and labels (tests, status endpoints); 0 if absent.
  double value(const std::string& name, const Labels& labels = {}) const;
  // Every series of a counter or gauge family: its rendered label set ({reason="schema"}) and
  // value (dashboards). Empty when the family is unknown; histograms are left out.
  std::vector<std::pair<std::string, double>> values(const std::string& name) const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Series {
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> callback;
  };
  struct Family {
    Kind kind;
    std::string help;
    std::map<std::string, Series> series;  // key: rendered label set "{a="1",b="2"}"
  };
  Family& family(const std::string& name, const std::string& help, Kind kind);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// Renders a label set as it appears in the exposition format: {a="x",b="y"}; "" when empty.
std::string render_labels(const Labels& labels);

}  // namespace aisle::metrics
