#include "bench/compare/diy_bridge.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "bench/compare/store_traffic.hpp"
#include "common/log.hpp"

namespace aisle::bench::compare {
namespace {

const log::Logger kLog("bench.compare");
constexpr std::size_t kMaxRowsPerCommit = 2000;

}  // namespace

Result<std::string> write_gateway_config(const GatewayBrokerOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.dir + "/data", ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + o.dir + "/data: " + ec.message());
  std::ostringstream out;
  out << "# compare_bench: the do-it-yourself store gateway (docs/compare.md).\n"
      << "per_listener_settings false\n"
      << "allow_anonymous true\n"
      << "set_tcp_nodelay true\n";
  if (!o.user.empty()) out << "user " << o.user << "\n";
  out << "persistence true\n"
      << "persistence_location " << o.dir << "/data/\n";
  if (o.autosave_interval_s > 0) out << "autosave_interval " << o.autosave_interval_s << "\n";
  if (o.max_queued_messages >= 0) out << "max_queued_messages " << o.max_queued_messages << "\n";
  if (o.max_inflight_messages >= 0) {
    out << "max_inflight_messages " << o.max_inflight_messages << "\n";
  }
  out << "log_dest file " << o.dir << "/gateway.log\n"
      << "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n"
      << "\nlistener " << o.port << " 127.0.0.1\n"
      << "\nconnection central\n"
      << "address " << o.central_host << ":" << o.central_port << "\n"
      << "bridge_protocol_version mqttv311\n"
      << "bridge_cafile " << o.ca_file << "\n"
      << "bridge_certfile " << o.cert_file << "\n"
      << "bridge_keyfile " << o.key_file << "\n"
      << "bridge_tls_version tlsv1.2\n"
      << "cleansession false\n"
      << "clientid gateway-bridge\n"
      // The central ACL grants the store identity its events topic only.
      << "notifications false\n"
      << "topic " << o.topic << " out 1\n";
  const std::string path = o.dir + "/mosquitto.conf";
  std::ofstream file(path, std::ios::trunc);
  file << out.str();
  if (!file) return make_error(ErrorCode::kIo, "cannot write " + path);
  return path;
}

DiySink::DiySink(mqtt::ClientOptions options, std::string topic, std::string db_path)
    : options_(std::move(options)), topic_(std::move(topic)), db_path_(std::move(db_path)) {}

DiySink::~DiySink() {
  stop();
}

Status DiySink::start() {
  auto db = collector::SqliteDb::open(db_path_);
  if (!db) return db.error();
  db_ = std::move(*db);
  if (auto s = db_.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                        "CREATE TABLE IF NOT EXISTS arrivals (seq INTEGER PRIMARY KEY,"
                        " event_id TEXT NOT NULL, arrived_at_ms INTEGER NOT NULL);");
      !s) {
    return s;
  }
  client_ = std::make_unique<mqtt::MqttClient>(options_);
  client_->on_message([this](mqtt::Message&& message) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(message.payload));
    }
    wake_.notify_one();
  });
  writer_ = std::thread([this] { write_loop(); });
  connector_ = std::thread([this] { connect_loop(); });
  return ok_status();
}

void DiySink::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (connector_.joinable()) connector_.join();
  if (client_) client_->disconnect();
  if (writer_.joinable()) writer_.join();
}

void DiySink::connect_loop() {
  bool subscribed = false;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_; })) {
        return;
      }
    }
    if (client_->connected()) continue;
    subscribed = false;
    if (auto s = client_->connect(); !s) continue;
    // The persistent session keeps the subscription; subscribing again is harmless and covers
    // a broker that lost its state.
    if (auto s = client_->subscribe(topic_); s) subscribed = true;
    if (!subscribed) kLog.warn("sink could not subscribe", {{"topic", topic_}});
  }
}

void DiySink::write_loop() {
  auto insert = db_.prepare("INSERT INTO arrivals (event_id, arrived_at_ms) VALUES (?1, ?2)");
  if (!insert) {
    kLog.error("sink cannot prepare its insert", {{"error", insert.error().message}});
    return;
  }
  std::vector<std::string> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && batch.size() < kMaxRowsPerCommit) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    Status written = db_.exec("BEGIN");
    for (const auto& payload : batch) {
      if (!written) break;
      ids.push_back(event_id_hex(payload));
      insert->bind_text(1, ids.back());
      insert->bind_int64(2, now_ms);
      written = insert->run();
    }
    if (written) written = db_.exec("COMMIT");
    if (!written) {
      // Counted anyway: the bench measures delivery, and a failed disk would show in the log.
      kLog.error("sink commit failed", {{"error", written.error().message}});
      (void)db_.exec("ROLLBACK");
    }
    for (const auto& id : ids) {
      if (++counts_[id] == 1) ++distinct_;
    }
    arrivals_ += batch.size();
    batch.clear();
  }
}

}  // namespace aisle::bench::compare
