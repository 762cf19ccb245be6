// Fault: the agent's storage fails under it — a damaged outbox file at start, a disk that fills
// up. The agent must start instead of crash-looping, keep the damaged bytes, refuse what it
// cannot store with a clear 507, keep its last space for critical events, lose nothing it
// answered 202 for, and recover by itself when space returns.
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/uuid.hpp"
#include "tests/support/delivery_check.hpp"
#include "tests/support/event_factory.hpp"
#include "tests/support/pipeline_env.hpp"
#include "tests/support/producer.hpp"

namespace aisle::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

double agent_metric(const PipelineEnv& env, const std::string& series) {
  return metric_value(env.agent(1).get("/metrics").body, series).value_or(-1);
}

bool connected(const PipelineEnv& env) {
  const json status = env.agent(1).get("/v1/status").json();
  return status.is_object() && status["forwarder"].value("connected", false);
}

// Database files (not their -wal/-shm companions) in `dir` whose name starts with `prefix`.
std::vector<fs::path> databases_starting(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool companion = name.size() > 4 && (name.ends_with("-wal") || name.ends_with("-shm"));
    if (name.rfind(prefix, 0) == 0 && !companion) out.push_back(entry.path());
  }
  return out;
}

// A tmpfs of a fixed size mounted on a fresh directory for the test's life: a disk that really
// fills up (ENOSPC from the kernel, not a simulated limit). Needs CAP_SYS_ADMIN.
class TmpfsMount {
 public:
  explicit TmpfsMount(const std::string& size) : dir_("aisle-tmpfs") {
    const std::string options = "size=" + size + ",mode=0700";
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) ==
        0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    // Lazy: a daemon that still has a file open there must not leave the mount behind.
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  std::string file(const std::string& name) const { return dir_.file(name); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

// A file of `bytes` zeros, written (not sparse), so it really takes the space.
bool write_filler(const std::string& path, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::string chunk(64 * 1024, '\0');
  for (std::size_t written = 0; written < bytes && out; written += chunk.size()) {
    out.write(chunk.data(), static_cast<std::streamsize>(std::min(chunk.size(), bytes - written)));
  }
  out.flush();
  return static_cast<bool>(out);
}

// One request of `count` events of `type` (NDJSON); the ids are appended to `ids_out`.
HttpResponse post_events(const PipelineEnv& env, const EventFactory& factory,
                         UuidV7Generator& ids, const std::string& type, int count,
                         std::vector<std::string>& ids_out) {
  std::vector<std::string> lines;
  for (int i = 0; i < count; ++i) {
    ids_out.push_back(ids.next().to_string());
    lines.push_back(factory.example(type, "store-1", ids_out.back()).dump());
  }
  return env.agent(1).post("/v1/events", ndjson(lines), "application/x-ndjson");
}

}  // namespace

TEST_CASE("an agent started on a truncated outbox file moves it aside and serves again",
          "[fault][agent][storage]") {
  PipelineEnv env({.edit_agent = fast_agent_timers()});
  const EventFactory factory;
  UuidV7Generator ids;

  // A backlog the broker never saw: what the damaged file will hold.
  REQUIRE(env.stop("mosquitto"));
  REQUIRE(wait_until([&] { return !connected(env); }, seconds(15)));
  Producer before(factory, ids,
                  {.url = env.env().agents[0].http,
                   .store_id = "store-1",
                   .events_per_request = 250,
                   .total_events = 2000});
  before.start();
  const ProducerResult lost = before.wait();
  REQUIRE(lost.accepted_ids.size() == 2000);
  REQUIRE(env.stop("agent-1", seconds(15)));

  // Cut in half, as a bad copy or a failing disk would leave it.
  const std::string db = env.agent_db(1);
  const auto size = fs::file_size(db);
  REQUIRE(size > 256 * 1024);
  fs::resize_file(db, size / 2);

  // It starts (start_part waits for GET /healthz == 200), on a fresh outbox.
  REQUIRE(env.start_part("agent-1"));
  CHECK(agent_metric(env, "aisle_agent_store_corrupt_total{store=\"outbox\"}") == 1);
  const json status = env.agent(1).get("/v1/status").json();
  INFO(status.dump());
  CHECK(status["outbox"]["events"] == 0);
  // The damaged bytes are kept beside it, never deleted.
  const auto aside = databases_starting(fs::path(db).parent_path(), "agent-1.db.corrupt-");
  REQUIRE(aside.size() == 1);
  CHECK(fs::file_size(aside[0]) == size / 2);
  // Said loudly, with the path and SQLite's error.
  const std::string log = read_file(env.log_path("agent-1"));
  CHECK_THAT(log, Catch::Contains("store is corrupt or truncated") && Catch::Contains(db) &&
                      Catch::Contains("level=error"));

  // The new stream works end to end.
  REQUIRE(env.up());
  Producer after(factory, ids,
                 {.url = env.env().agents[0].http,
                  .store_id = "store-1",
                  .events_per_request = 250,
                  .total_events = 1000});
  after.start();
  const ProducerResult sent = after.wait();
  INFO(sent.summary());
  REQUIRE(sent.errors.empty());
  require_delivered_exactly_once(env, sent.accepted_ids, {}, {"store-1"});
}

TEST_CASE("an agent whose disk fills up keeps the rest for critical events and loses nothing",
          "[fault][agent][storage]") {
  TmpfsMount disk("6m");
  if (!disk.mounted()) {
    WARN("SKIPPED: cannot mount a tmpfs (" << disk.error()
                                            << "); the disk-full test needs CAP_SYS_ADMIN (root)");
    return;
  }
  const std::string outbox_path = disk.file("agent-1.db");
  // 3 MiB of the 6 are taken by a filler that is deleted later (space returns).
  REQUIRE(write_filler(disk.file("filler"), 3 * 1024 * 1024));
  PipelineEnv env({.edit_agent = [&](int index, json& config) {
    fast_agent_timers()(index, config);
    config["outbox"]["path"] = outbox_path;
    config["outbox"]["min_free_disk_bytes"] = "1MiB";
  }});
  const EventFactory factory;
  UuidV7Generator ids;
  // Nothing leaves the outbox while the broker is away: the disk really fills.
  REQUIRE(env.stop("mosquitto"));
  REQUIRE(wait_until([&] { return !connected(env); }, seconds(15)));

  std::vector<std::string> accepted;
  auto post = [&](const std::string& type, int count) {
    std::vector<std::string> batch_ids;
    HttpResponse answer = post_events(env, factory, ids, type, count, batch_ids);
    if (answer.status == 202) {
      const json body = answer.json();
      REQUIRE(body["accepted"] == count);
      accepted.insert(accepted.end(), batch_ids.begin(), batch_ids.end());
    }
    return answer;
  };

  // Normal events until the disk is low: then 507, naming the disk.
  HttpResponse refused;
  int normal_requests = 0;
  for (; normal_requests < 400; ++normal_requests) {
    refused = post("product_view", 50);
    if (refused.status != 202) break;
  }
  INFO("normal requests accepted: " << normal_requests << ", then " << refused.describe(500));
  REQUIRE(refused.status == 507);
  CHECK(normal_requests > 5);
  CHECK_THAT(refused.body, Catch::Contains("disk space low") && Catch::Contains("normal"));
  CHECK(post("footfall", 10).status == 507);  // bulk too

  // Critical events still go in, until the disk itself is full.
  int critical_accepted = 0;
  HttpResponse last_critical;
  for (int i = 0; i < 400; ++i) {
    last_critical = post("purchase", 20);
    if (last_critical.status != 202) break;
    ++critical_accepted;
  }
  INFO("critical requests accepted: " << critical_accepted << ", then "
                                      << last_critical.describe(500));
  CHECK(critical_accepted > 0);
  if (last_critical.status != 202) {
    // The disk is full: 507, storage full, nothing of that request stored.
    CHECK(last_critical.status == 507);
  }
  // Still alive and answering.
  CHECK(env.agent(1).get("/healthz").status == 200);

  // Space returns: normal events are taken again without a restart.
  fs::remove(disk.file("filler"));
  CHECK(wait_until([&] { return post("product_view", 20).status == 202; }, seconds(15),
                   milliseconds(500)));

  // Everything answered 202 reaches the collector exactly once.
  REQUIRE(env.up());
  require_delivered_exactly_once(env, accepted, {}, {"store-1"});
}

}  // namespace aisle::test
