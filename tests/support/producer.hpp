// Producer: client threads that post NDJSON batches of valid events with ids they chose to an
// ingest endpoint (an agent, or the collector with a write key), the way a well-behaved POS or
// kiosk integration does: a request without a definitive answer (connection refused or reset,
// timeout, 503) is retried with the same body — the same event ids — until it is answered.
//
// What it records is what the guarantee is checked against:
//   accepted  — ids of requests answered 202 (committed, or already present): must arrive.
//   unknown   — ids of requests never definitively answered (given up at stop()): may arrive,
//               at most once.
//
//   Producer producer(factory, ids, {.url = env.env().agents[0].http, .store_id = "store-1"});
//   producer.start();  ...faults...  ProducerResult r = producer.stop();
//
// start()/stop()/wait() from one thread; the counters may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/uuid.hpp"
#include "tests/support/event_factory.hpp"

namespace aisle::test {

struct ProducerOptions {
  std::string url{};     // "http://127.0.0.1:<port>"
  std::string bearer{};  // write key for the collector; empty for agents
  std::string store_id{};
  int threads = 2;
  std::size_t events_per_request = 100;
  // Stop after this many events in total (0: until stop()).
  std::size_t total_events = 0;
  // Pause of each thread between requests (paces continuous producers).
  std::chrono::milliseconds pause{0};
  std::chrono::milliseconds retry_delay{100};
  std::chrono::milliseconds request_timeout{30000};
  // After stop(), a request still unanswered is given up this long later (its ids are unknown).
  std::chrono::milliseconds give_up_after{20000};
};

struct ProducerResult {
  std::vector<std::string> accepted_ids;
  std::vector<std::string> unknown_ids;
  std::uint64_t requests = 0;             // HTTP attempts, retries included
  std::uint64_t retries = 0;              // attempts after the first of a request
  std::uint64_t accepted_count = 0;       // sum of "accepted" in 202 answers
  std::uint64_t duplicate_count = 0;      // sum of "duplicates"
  std::map<int, std::uint64_t> statuses;  // answers by HTTP status (0: no answer)
  std::vector<std::string> errors;        // unexpected answers (rejections, 4xx, 507)

  std::string summary() const;
};

class Producer {
 public:
  Producer(const EventFactory& factory, UuidV7Generator& ids, ProducerOptions options);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  void start();
  // Asks the threads to finish their current request (retrying it until answered or until
  // give_up_after) and joins them.
  ProducerResult stop();
  // Joins threads that stop on their own (total_events).
  ProducerResult wait();

  // Events answered 202 so far (accepted or duplicate), and requests answered at all.
  std::uint64_t committed_so_far() const { return committed_.load(); }
  std::uint64_t answered_requests() const { return answered_.load(); }
  std::uint64_t unanswered_attempts() const { return unanswered_.load(); }

 private:
  void run(int thread_index);
  ProducerResult collect();

  const EventFactory& factory_;
  UuidV7Generator& ids_;
  ProducerOptions options_;
  std::vector<std::thread> threads_;
  std::vector<ProducerResult> results_;  // one per thread, merged by collect()
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> stop_at_ms_{0};  // steady clock ms when stop() was called
  std::atomic<std::size_t> claimed_{0};      // events handed out (total_events)
  std::atomic<std::uint64_t> committed_{0};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> unanswered_{0};
};

// What the collector stored, compared with what producers were told.
struct ExactlyOnceReport {
  std::size_t accepted = 0;  // distinct ids answered 202
  std::size_t unknown = 0;   // distinct ids never definitively answered
  std::size_t stored = 0;    // stored rows considered (filtered to the producers' stores)
  std::size_t stored_distinct = 0;
  std::size_t unknown_stored = 0;
  std::vector<std::string> missing;  // accepted but not stored: LOST
  std::vector<std::string> extra;    // stored but never sent
  bool ok() const { return missing.empty() && extra.empty() && stored == stored_distinct; }
  std::string describe() const;
};

// `stored_ids`: the event_ids of the rows at the collector that belong to the checked producers
// (one entry per row).
ExactlyOnceReport check_exactly_once(const std::vector<std::string>& accepted,
                                     const std::vector<std::string>& unknown,
                                     const std::vector<std::string>& stored_ids);

}  // namespace aisle::test
