#include "tests/support/producer.hpp"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "tests/support/http_client.hpp"

namespace aisle::test {
namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string join_first(const std::vector<std::string>& ids, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < std::min(n, ids.size()); ++i) out += (i ? ", " : "") + ids[i];
  if (ids.size() > n) out += ", ... (" + std::to_string(ids.size()) + " in all)";
  return out;
}

}  // namespace

std::string ProducerResult::summary() const {
  std::string out = "accepted ids " + std::to_string(accepted_ids.size()) + ", unknown ids " +
                    std::to_string(unknown_ids.size()) + ", requests " + std::to_string(requests) +
                    " (retries " + std::to_string(retries) + "), answers accepted " +
                    std::to_string(accepted_count) + " duplicates " +
                    std::to_string(duplicate_count) + ", statuses {";
  bool first = true;
  for (const auto& [status, count] : statuses) {
    out += (first ? "" : ", ") + std::to_string(status) + ": " + std::to_string(count);
    first = false;
  }
  out += "}";
  for (std::size_t i = 0; i < std::min<std::size_t>(errors.size(), 5); ++i) {
    out += "\n  error: " + errors[i];
  }
  return out;
}

Producer::Producer(const EventFactory& factory, UuidV7Generator& ids, ProducerOptions options)
    : factory_(factory), ids_(ids), options_(std::move(options)) {}

Producer::~Producer() {
  stop_ = true;
  stop_at_ms_ = steady_ms() - options_.give_up_after.count();  // give up at once
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void Producer::start() {
  results_.assign(static_cast<std::size_t>(options_.threads), ProducerResult{});
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] { run(i); });
  }
}

ProducerResult Producer::stop() {
  stop_at_ms_ = steady_ms();
  stop_ = true;
  return wait();
}

ProducerResult Producer::wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  return collect();
}

ProducerResult Producer::collect() {
  ProducerResult all;
  for (auto& r : results_) {
    all.accepted_ids.insert(all.accepted_ids.end(), r.accepted_ids.begin(), r.accepted_ids.end());
    all.unknown_ids.insert(all.unknown_ids.end(), r.unknown_ids.begin(), r.unknown_ids.end());
    all.requests += r.requests;
    all.retries += r.retries;
    all.accepted_count += r.accepted_count;
    all.duplicate_count += r.duplicate_count;
    for (const auto& [status, count] : r.statuses) all.statuses[status] += count;
    all.errors.insert(all.errors.end(), r.errors.begin(), r.errors.end());
  }
  return all;
}

void Producer::run(int thread_index) {
  ProducerResult& result = results_[static_cast<std::size_t>(thread_index)];
  HttpClient client(options_.url, options_.bearer);
  client.set_timeout(options_.request_timeout);
  std::size_t variant = static_cast<std::size_t>(thread_index);
  while (!stop_) {
    std::size_t count = options_.events_per_request;
    if (options_.total_events > 0) {
      const std::size_t first = claimed_.fetch_add(count);
      if (first >= options_.total_events) break;
      count = std::min(count, options_.total_events - first);
    }
    std::vector<std::string> ids;
    std::string body;
    ids.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      ids.push_back(ids_.next().to_string());
      body += factory_.make(options_.store_id, ids.back(), variant++);
      body += '\n';
    }

    // Retry until a definitive answer (or until given up after stop()).
    bool done = false;
    for (int attempt = 0; !done; ++attempt) {
      if (attempt > 0) {
        ++result.retries;
        if (stop_ && steady_ms() - stop_at_ms_.load() > options_.give_up_after.count()) {
          result.unknown_ids.insert(result.unknown_ids.end(), ids.begin(), ids.end());
          break;
        }
        std::this_thread::sleep_for(options_.retry_delay);
      }
      ++result.requests;
      const HttpResponse answer = client.post("/v1/events", body, "application/x-ndjson");
      ++result.statuses[answer.status];
      if (!answer.answered() || answer.status == 503) {
        ++unanswered_;
        continue;
      }
      ++answered_;
      done = true;
      if (answer.status != 202 && answer.status != 507) {
        result.errors.push_back(answer.describe());
        result.unknown_ids.insert(result.unknown_ids.end(), ids.begin(), ids.end());
        break;
      }
      const nlohmann::json json = answer.json();
      if (!json.is_object()) {
        result.errors.push_back("202 without a JSON body: " + answer.describe());
        result.unknown_ids.insert(result.unknown_ids.end(), ids.begin(), ids.end());
        break;
      }
      std::set<std::size_t> not_committed;
      for (const auto& r : json.value("rejected", nlohmann::json::array())) {
        not_committed.insert(r.value("index", std::size_t{0}));
      }
      for (const auto& index : json.value("refused", nlohmann::json::array())) {
        not_committed.insert(index.get<std::size_t>());
      }
      if (!not_committed.empty() || answer.status != 202) {
        result.errors.push_back("not every valid event was committed: " + answer.describe());
      }
      const std::uint64_t accepted = json.value("accepted", std::uint64_t{0});
      const std::uint64_t duplicates = json.value("duplicates", std::uint64_t{0});
      result.accepted_count += accepted;
      result.duplicate_count += duplicates;
      if (accepted + duplicates + not_committed.size() != ids.size()) {
        result.errors.push_back("counts do not add up to " + std::to_string(ids.size()) + ": " +
                                answer.describe());
      }
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!not_committed.count(i)) result.accepted_ids.push_back(ids[i]);
      }
      committed_ += ids.size() - not_committed.size();
    }
    if (options_.pause.count() > 0 && !stop_) std::this_thread::sleep_for(options_.pause);
  }
}

std::string ExactlyOnceReport::describe() const {
  std::string out = "accepted " + std::to_string(accepted) + ", unknown " +
                    std::to_string(unknown) + " (of which stored " +
                    std::to_string(unknown_stored) + "), stored rows " + std::to_string(stored) +
                    " (distinct ids " + std::to_string(stored_distinct) + "), missing " +
                    std::to_string(missing.size()) + ", extra " + std::to_string(extra.size());
  if (!missing.empty()) out += "\n  missing: " + join_first(missing, 5);
  if (!extra.empty()) out += "\n  extra: " + join_first(extra, 5);
  return out;
}

ExactlyOnceReport check_exactly_once(const std::vector<std::string>& accepted,
                                     const std::vector<std::string>& unknown,
                                     const std::vector<std::string>& stored_ids) {
  ExactlyOnceReport report;
  const std::unordered_set<std::string> accepted_set(accepted.begin(), accepted.end());
  const std::unordered_set<std::string> unknown_set(unknown.begin(), unknown.end());
  const std::unordered_set<std::string> stored_set(stored_ids.begin(), stored_ids.end());
  report.accepted = accepted_set.size();
  report.unknown = unknown_set.size();
  report.stored = stored_ids.size();
  report.stored_distinct = stored_set.size();
  for (const auto& id : accepted_set) {
    if (!stored_set.count(id)) report.missing.push_back(id);
  }
  for (const auto& id : stored_set) {
    if (accepted_set.count(id)) continue;
    if (unknown_set.count(id)) {
      ++report.unknown_stored;
    } else {
      report.extra.push_back(id);
    }
  }
  std::sort(report.missing.begin(), report.missing.end());
  std::sort(report.extra.begin(), report.extra.end());
  return report;
}

}  // namespace aisle::test
