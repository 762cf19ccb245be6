// WebhookPoster: one HTTP POST to a webhook receiver. CurlPoster is the real one (libcurl, the
// only file that sees curl types); each delivery worker owns one, so its connections are kept
// alive between deliveries to the same receiver.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace aisle::collector::segments {

struct PostRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{10000};  // the whole request
};

struct PostResult {
  int status = 0;          // HTTP status; 0 when no answer arrived
  bool timed_out = false;  // the connect or request timeout elapsed
  std::string error;       // transport error when status == 0
};

class WebhookPoster {
 public:
  virtual ~WebhookPoster() = default;
  // Blocks up to the request's timeout. Not thread-safe: one poster per worker.
  virtual PostResult post(const PostRequest& request) = 0;
};
using WebhookPosterPtr = std::unique_ptr<WebhookPoster>;
using WebhookPosterFactory = std::function<WebhookPosterPtr()>;

// libcurl with one easy handle reused for every request (keep-alive, connection cache), no
// redirects followed, no signals (timeouts are safe in threads).
WebhookPosterPtr make_curl_poster();
// curl_global_init; call once before any worker starts (the dispatcher does).
void init_curl_once();

}  // namespace aisle::collector::segments
