// The agent's HTTPS client of the collector's recommendation API: live answers
// (`GET /v1/recommendations?...`) within a short timeout, and store snapshots
// (`GET /v1/recs/snapshot?store=`). RecsUpstream is the role; CurlCollectorClient the libcurl
// implementation (the only file that includes curl).
//
// Thread-safe: HTTP worker threads call recommend() concurrently; each call borrows one easy
// handle from a small pool, so connections (and TLS sessions) stay open between requests.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/recs/rec_answer.hpp"
#include "agent/recs/recs_options.hpp"
#include "common/result.hpp"

namespace aisle::agent::recs {

class RecsUpstream {
 public:
  virtual ~RecsUpstream() = default;
  // kDeadlineExceeded past the timeout, kUnavailable when unreachable or answering 5xx, 408 or
  // 429; kInvalidArgument when the collector was reached but refused the request (other 4xx) or
  // its answer cannot be read. Blocks up to the timeout.
  virtual Result<RecAnswer> recommend(const RecQuery& query, const std::string& store_id) = 0;
  // The encoded snapshot (wire::decode_rec_snapshot decodes it). Blocks up to its timeout.
  virtual Result<std::string> fetch_snapshot(const std::string& store_id) = 0;
};
using RecsUpstreamPtr = std::unique_ptr<RecsUpstream>;

class CurlCollectorClient final : public RecsUpstream {
 public:
  // Fails when libcurl cannot be initialized or the options name unreadable TLS files.
  static Result<std::unique_ptr<CurlCollectorClient>> create(CollectorClientOptions options,
                                                             std::size_t max_snapshot_bytes);
  ~CurlCollectorClient() override;

  Result<RecAnswer> recommend(const RecQuery& query, const std::string& store_id) override;
  Result<std::string> fetch_snapshot(const std::string& store_id) override;

 private:
  CurlCollectorClient(CollectorClientOptions options, std::size_t max_snapshot_bytes,
                      const std::string& api_key);
  struct Response {
    long status = 0;
    std::string body;
  };
  // Borrows a pooled handle (or a new one when all are busy), performs the GET and returns the
  // handle to the pool (up to `connections` are kept).
  Result<Response> get(const std::string& url, std::chrono::milliseconds timeout,
                       std::size_t max_bytes);
  void* acquire();
  void release(void* handle);
  std::string escape(const std::string& text);

  const CollectorClientOptions options_;
  const std::size_t max_snapshot_bytes_;
  void* headers_ = nullptr;  // curl_slist: Authorization, shared by every handle
  std::mutex mutex_;
  std::vector<void*> idle_;  // CURL* easy handles, kept connected
};

}  // namespace aisle::agent::recs
