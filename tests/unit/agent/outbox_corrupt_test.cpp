// A damaged outbox file at start: moved aside (never deleted), counted, and a fresh outbox opened
// — or refused when configured so.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "agent/outbox/sqlite_outbox.hpp"
#include "common/clock.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::agent {
namespace {

namespace fs = std::filesystem;

// ManualClock's default start, 2023-11-14T22:13:20Z, as the moved file's stamp.
const char* const kAsideSuffix = ".corrupt-20231114T221320Z";
constexpr int kRecords = 3000;

struct Env {
  test::TempDir dir{"aisle-outbox-corrupt"};
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  metrics::Registry registry;

  SqliteOutboxOptions options() const {
    SqliteOutboxOptions o;
    o.path = dir.file("outbox.db");
    o.durability = OutboxDurability::kNormal;
    return o;
  }
  double corrupt_count() const {
    return registry.value("aisle_agent_store_corrupt_total", {{"store", "outbox"}});
  }
};

// A healthy outbox of several hundred pages, closed (the last close checkpoints the WAL into the
// main file and removes it). Returns its stream id.
std::string fill(const Env& env) {
  metrics::Registry registry;
  auto outbox = SqliteOutbox::open(env.options(), env.clock, registry);
  REQUIRE(outbox.ok());
  std::vector<OutboxRecord> records;
  for (int i = 0; i < kRecords; ++i) {
    OutboxRecord r;
    r.event_id = "event-" + std::to_string(i);
    r.priority = Priority::kNormal;
    r.payload = std::string(300, static_cast<char>('a' + i % 26));
    records.push_back(std::move(r));
  }
  REQUIRE((*outbox)->append(std::move(records)).ok());
  return (*outbox)->stream_id();
}

void overwrite(const std::string& path, std::uintmax_t offset, std::size_t bytes) {
  std::mt19937 random(7);
  std::string noise(bytes, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  file.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  REQUIRE(file.good());
}

}  // namespace

TEST_CASE("a damaged outbox file is moved aside and the agent starts with a fresh outbox",
          "[agent][outbox][corrupt]") {
  Env env;
  const std::string path = env.options().path;
  const std::string old_stream = fill(env);
  REQUIRE_FALSE(fs::exists(path + "-wal"));
  const auto full_size = fs::file_size(path);
  REQUIRE(full_size > 512 * 1024);

  std::string damaged;
  SECTION("truncated to half") {
    fs::resize_file(path, full_size / 2);
    damaged = "truncated";
  }
  SECTION("a file of garbage") {
    std::string garbage(64 * 1024, '\0');
    std::mt19937 random(42);
    for (char& c : garbage) c = static_cast<char>(random());
    test::write_file(path, garbage);
    damaged = "garbage";
  }
  SECTION("one page in the middle overwritten") {
    overwrite(path, (full_size / 2 / 4096) * 4096, 4096);
    damaged = "page overwritten";
  }
  INFO(damaged);
  const auto damaged_size = fs::file_size(path);

  auto outbox = SqliteOutbox::open(env.options(), env.clock, env.registry);
  INFO((outbox.ok() ? std::string() : outbox.error().message));
  REQUIRE(outbox.ok());
  // A fresh outbox: empty, a new stream (the collector tracks its batch numbers anew).
  CHECK((*outbox)->stats().total_rows == 0);
  CHECK((*outbox)->stream_id() != old_stream);
  CHECK(env.corrupt_count() == 1);
  // The damaged bytes are kept, unchanged, beside it.
  REQUIRE(fs::exists(path + kAsideSuffix));
  CHECK(fs::file_size(path + kAsideSuffix) == damaged_size);

  // It works: records go in and a reopen finds them (no second move).
  OutboxRecord r;
  r.event_id = "after";
  r.payload = "{}";
  REQUIRE((*outbox)->append({r}).ok());
  outbox = make_error(ErrorCode::kInternal, "closed");
  auto reopened = SqliteOutbox::open(env.options(), env.clock, env.registry);
  REQUIRE(reopened.ok());
  CHECK((*reopened)->stats().total_rows == 1);
  CHECK(env.corrupt_count() == 1);
}

TEST_CASE("a healthy outbox is checked and opened in place and counts nothing",
          "[agent][outbox][corrupt]") {
  Env env;
  const std::string old_stream = fill(env);
  auto outbox = SqliteOutbox::open(env.options(), env.clock, env.registry);
  REQUIRE(outbox.ok());
  CHECK((*outbox)->stream_id() == old_stream);
  CHECK((*outbox)->stats().total_rows == kRecords);
  CHECK(env.corrupt_count() == 0);
  CHECK_FALSE(fs::exists(env.options().path + kAsideSuffix));
}

TEST_CASE("with on_corrupt refuse a damaged outbox fails the open and stays where it is",
          "[agent][outbox][corrupt]") {
  Env env;
  const std::string path = env.options().path;
  fill(env);
  fs::resize_file(path, fs::file_size(path) / 3);
  SqliteOutboxOptions o = env.options();
  o.corruption.on_corrupt = OnCorrupt::kRefuse;
  auto outbox = SqliteOutbox::open(o, env.clock, env.registry);
  REQUIRE_FALSE(outbox.ok());
  CHECK(outbox.error().code == ErrorCode::kDataLoss);
  CHECK_THAT(outbox.error().message, Catch::Contains(path) && Catch::Contains("on_corrupt"));
  CHECK(env.corrupt_count() == 1);
  CHECK_FALSE(fs::exists(path + kAsideSuffix));
}

TEST_CASE("with startup_check header a file that is not a database is still moved aside",
          "[agent][outbox][corrupt]") {
  // Without quick_check only what opening reads is checked (the trade-off for huge stores); the
  // header is always read.
  Env env;
  const std::string path = env.options().path;
  fill(env);
  std::string garbage(8192, 'x');
  test::write_file(path, garbage);
  SqliteOutboxOptions o = env.options();
  o.corruption.startup_check = StartupCheck::kHeader;
  auto outbox = SqliteOutbox::open(o, env.clock, env.registry);
  REQUIRE(outbox.ok());
  CHECK(env.corrupt_count() == 1);
  CHECK(fs::exists(path + kAsideSuffix));
}

}  // namespace aisle::agent
