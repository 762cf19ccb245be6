#include "collector/segments/notify/webhook_poster.hpp"

#include <curl/curl.h>

#include <mutex>

namespace aisle::collector::segments {
namespace {

// The answer body is not needed (only the status): read and discard, bounded by the timeout.
std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

class CurlPoster final : public WebhookPoster {
 public:
  CurlPoster() : handle_(curl_easy_init()) {}
  ~CurlPoster() override {
    if (handle_) curl_easy_cleanup(handle_);
  }
  CurlPoster(const CurlPoster&) = delete;
  CurlPoster& operator=(const CurlPoster&) = delete;

  PostResult post(const PostRequest& request) override {
    PostResult result;
    if (!handle_) {
      result.error = "cannot create a curl handle";
      return result;
    }
    CURL* h = handle_;
    // Options persist on the handle; the connection cache survives reset.
    curl_easy_reset(h);
    curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers) {
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    }
    // No "Expect: 100-continue" round trip for larger bodies.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "aisle-collector/" AISLE_VERSION);
    const CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      result.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      result.error = curl_easy_strerror(rc);
      return result;
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    result.status = static_cast<int>(status);
    return result;
  }

 private:
  CURL* handle_;
};

}  // namespace

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

WebhookPosterPtr make_curl_poster() {
  init_curl_once();
  return std::make_unique<CurlPoster>();
}

}  // namespace aisle::collector::segments
