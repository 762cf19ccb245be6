#include "agent/recs/collector_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <filesystem>
#include <fstream>

#include "common/json_text.hpp"

namespace aisle::agent::recs {
namespace {

struct Sink {
  std::string* body;
  std::size_t max_bytes;
  bool overflow = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t bytes = size * count;
  if (sink->body->size() + bytes > sink->max_bytes) {
    sink->overflow = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->body->append(data, bytes);
  return bytes;
}

// curl_global_init is not thread-safe; once per process, before the first handle.
void init_curl_once() {
  static const bool initialized = [] {
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  }();
  (void)initialized;
}

}  // namespace

Result<std::unique_ptr<CurlCollectorClient>> CurlCollectorClient::create(
    CollectorClientOptions options, std::size_t max_snapshot_bytes) {
  for (const auto* file : {&options.ca_file, &options.cert_file, &options.key_file}) {
    if (!file->empty() && !std::filesystem::exists(*file)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "recommendations: TLS file " + *file + " does not exist");
    }
  }
  std::string api_key;
  if (!options.api_key_file.empty()) {
    std::ifstream in(options.api_key_file);
    if (!in || !std::getline(in, api_key) || api_key.empty()) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "recommendations.api_key_file: cannot read a key from " + options.api_key_file);
    }
    while (!api_key.empty() && std::isspace(static_cast<unsigned char>(api_key.back()))) {
      api_key.pop_back();
    }
  }
  init_curl_once();
  return std::unique_ptr<CurlCollectorClient>(
      new CurlCollectorClient(std::move(options), max_snapshot_bytes, api_key));
}

CurlCollectorClient::CurlCollectorClient(CollectorClientOptions options,
                                         std::size_t max_snapshot_bytes, const std::string& api_key)
    : options_(std::move(options)), max_snapshot_bytes_(max_snapshot_bytes) {
  if (!api_key.empty()) {
    headers_ = curl_slist_append(nullptr, ("Authorization: Bearer " + api_key).c_str());
  }
}

CurlCollectorClient::~CurlCollectorClient() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
  curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

void* CurlCollectorClient::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
  }
  CURL* handle = curl_easy_init();
  if (handle == nullptr) return nullptr;
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM (threads)
  curl_easy_setopt(handle, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");
  if (!options_.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.cert_file.empty()) {
    curl_easy_setopt(handle, CURLOPT_SSLCERT, options_.cert_file.c_str());
  }
  if (!options_.key_file.empty())
    curl_easy_setopt(handle, CURLOPT_SSLKEY, options_.key_file.c_str());
  curl_easy_setopt(handle, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_body);
  if (headers_ != nullptr) curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers_);
  return handle;
}

void CurlCollectorClient::release(void* handle) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < options_.connections) {
    idle_.push_back(handle);
  } else {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

std::string CurlCollectorClient::escape(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
  if (escaped == nullptr) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

Result<CurlCollectorClient::Response> CurlCollectorClient::get(const std::string& url,
                                                               std::chrono::milliseconds timeout,
                                                               std::size_t max_bytes) {
  CURL* handle = static_cast<CURL*>(acquire());
  if (handle == nullptr) return make_error(ErrorCode::kInternal, "curl_easy_init failed");
  Response response;
  Sink sink{&response.body, max_bytes};
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  const CURLcode code = curl_easy_perform(handle);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, nullptr);
  if (code != CURLE_OK) {
    // A handle whose transfer failed may hold a half-read connection; libcurl closes it itself,
    // and the handle stays reusable.
    release(handle);
    if (sink.overflow) {
      return make_error(ErrorCode::kInvalidArgument,
                        "collector answer exceeds " + std::to_string(max_bytes) + " bytes");
    }
    return make_error(
        code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::kDeadlineExceeded : ErrorCode::kUnavailable,
        std::string("collector: ") + curl_easy_strerror(code));
  }
  release(handle);
  if (response.status >= 500 || response.status == 429 || response.status == 408) {
    return make_error(ErrorCode::kUnavailable,
                      "collector answered HTTP " + std::to_string(response.status));
  }
  return response;
}

Result<RecAnswer> CurlCollectorClient::recommend(const RecQuery& query,
                                                 const std::string& store_id) {
  std::string url = options_.url + "/v1/recommendations?store=" + escape(store_id) +
                    "&n=" + std::to_string(query.n);
  if (!query.profile.empty()) url += "&profile=" + escape(query.profile);
  if (!query.identity.empty()) url += "&identity=" + escape(query.identity);
  if (!query.context_item.empty()) url += "&context_item=" + escape(query.context_item);
  if (!query.placement.empty()) url += "&placement=" + escape(query.placement);
  auto response = get(url, options_.timeout, options_.max_response_bytes);
  if (!response) return response.error();
  if (response->status != 200) {
    // Reached, but refused (a bad parameter, a wrong API key): not a WAN failure.
    return make_error(ErrorCode::kInvalidArgument, "collector refused the request: HTTP " +
                                                       std::to_string(response->status) + " " +
                                                       response->body.substr(0, 200));
  }
  auto document = parse_json(response->body, JsonLimits{options_.max_response_bytes, 16});
  if (!document) {
    return make_error(ErrorCode::kInvalidArgument, "collector answer: " + document.error().message);
  }
  return rec_answer_from_json(*document, query.n);
}

Result<std::string> CurlCollectorClient::fetch_snapshot(const std::string& store_id) {
  auto response = get(options_.url + "/v1/recs/snapshot?store=" + escape(store_id),
                      options_.snapshot_timeout, max_snapshot_bytes_);
  if (!response) return response.error();
  if (response->status != 200) {
    return make_error(response->status == 404 ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                      "snapshot: collector answered HTTP " + std::to_string(response->status));
  }
  return std::move(response->body);
}

}  // namespace aisle::agent::recs
