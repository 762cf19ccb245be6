// The collector's SQLite stores found damaged at open: moved aside (never deleted), counted in
// aisle_collector_store_corrupt_total{store}, and a fresh store opened.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "collector/profiles/profile_service.hpp"
#include "collector/store/sqlite_db.hpp"
#include "collector/store/sqlite_event_store.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

namespace fs = std::filesystem;

constexpr UnixMillis kStart = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
const char* const kAsideSuffix = ".corrupt-20231114T221320Z";

StoredEvent make_event(int n) {
  char id[40];
  std::snprintf(id, sizeof id, "018bcfe5-6800-7000-8000-%012d", n);
  StoredEvent e;
  e.event_id = id;
  e.type = "product_view";
  e.schema = "aisle/product_view/1";
  e.store_id = "store-1";
  e.agent_id = "agent-1";
  e.channel = "kiosk";
  e.occurred_at = kStart - 1000;
  e.received_at = kStart - 500;
  e.payload = R"({"event_id":")" + e.event_id + R"(","pad":")" + std::string(400, 'p') + R"("})";
  return e;
}

void overwrite_page(const std::string& path, std::uintmax_t page) {
  std::mt19937 random(11);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(random());
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(page * 4096));
  file.write(noise.data(), static_cast<std::streamsize>(noise.size()));
  REQUIRE(file.good());
}

}  // namespace

TEST_CASE("a damaged event store is moved aside and the collector gets a fresh one",
          "[collector][store][corrupt]") {
  test::TempDir dir("aisle-store-corrupt");
  auto clock = std::make_shared<ManualClock>(kStart);
  SqliteEventStoreOptions options;
  options.path = dir.file("events.db");
  {
    metrics::Registry registry;
    auto store = SqliteEventStore::open(options, clock, registry);
    REQUIRE(store.ok());
    CommitRequest request;
    for (int i = 0; i < 2000; ++i) request.events.push_back(make_event(i));
    REQUIRE((*store)->commit(request).ok());
  }  // the last close checkpoints the WAL into the file and removes it
  REQUIRE_FALSE(fs::exists(options.path + "-wal"));
  const auto size = fs::file_size(options.path);
  REQUIRE(size > 512 * 1024);

  SECTION("truncated (found by the header check, the default)") {
    fs::resize_file(options.path, size / 2);
  }
  SECTION("a file of garbage") {
    std::string garbage(64 * 1024, '\0');
    std::mt19937 random(3);
    for (char& c : garbage) c = static_cast<char>(random());
    test::write_file(options.path, garbage);
  }
  SECTION("a page overwritten mid-file (found by startup_check quick)") {
    overwrite_page(options.path, size / 4096 / 2);
    options.corruption.startup_check = StartupCheck::kQuick;
  }
  const auto damaged_size = fs::file_size(options.path);

  metrics::Registry registry;
  auto store = SqliteEventStore::open(options, clock, registry);
  INFO((store.ok() ? std::string() : store.error().message));
  REQUIRE(store.ok());
  CHECK((*store)->count_events().value() == 0);
  CHECK(registry.value("aisle_collector_store_corrupt_total", {{"store", "events"}}) == 1);
  REQUIRE(fs::exists(options.path + kAsideSuffix));
  CHECK(fs::file_size(options.path + kAsideSuffix) == damaged_size);
  // The fresh store takes commits.
  CommitRequest request;
  request.events.push_back(make_event(1));
  CHECK((*store)->commit(request).ok());
}

TEST_CASE("a healthy event store passes the quick startup check in place",
          "[collector][store][corrupt]") {
  test::TempDir dir("aisle-store-corrupt");
  auto clock = std::make_shared<ManualClock>(kStart);
  SqliteEventStoreOptions options;
  options.path = dir.file("events.db");
  options.corruption.startup_check = StartupCheck::kQuick;
  for (int round = 0; round < 2; ++round) {
    metrics::Registry registry;
    auto store = SqliteEventStore::open(options, clock, registry);
    REQUIRE(store.ok());
    CHECK((*store)->count_events().value() == static_cast<std::uint64_t>(round * 100));
    CommitRequest request;
    for (int i = 0; i < 100; ++i) request.events.push_back(make_event(round * 100 + i));
    REQUIRE((*store)->commit(request).ok());
    CHECK(registry.value("aisle_collector_store_corrupt_total", {{"store", "events"}}) == 0);
  }
  CHECK_FALSE(fs::exists(options.path + kAsideSuffix));
}

TEST_CASE("a truncated profile store is moved aside or refused when configured",
          "[collector][profiles][corrupt]") {
  test::TempDir dir("aisle-store-corrupt");
  auto clock = std::make_shared<ManualClock>(kStart);
  profiles::ProfileServiceOptions options;
  options.path = dir.file("profiles.db");
  {
    metrics::Registry registry;
    auto service = profiles::ProfileService::open(options, clock, registry);
    REQUIRE(service.ok());
  }
  // Make it longer than a page or two so that half of it is missing pages.
  {
    auto db = SqliteDb::open(options.path);
    REQUIRE(db.ok());
    REQUIRE(db->exec("CREATE TABLE filler(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                     "SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO filler SELECT "
                     "randomblob(200) FROM n;")
                .ok());
  }
  REQUIRE_FALSE(fs::exists(options.path + "-wal"));
  fs::resize_file(options.path, fs::file_size(options.path) / 2);

  metrics::Registry registry;
  SECTION("move_aside") {
    auto service = profiles::ProfileService::open(options, clock, registry);
    INFO((service.ok() ? std::string() : service.error().message));
    REQUIRE(service.ok());
    CHECK(fs::exists(options.path + kAsideSuffix));
  }
  SECTION("refuse") {
    options.corruption.on_corrupt = OnCorrupt::kRefuse;
    auto service = profiles::ProfileService::open(options, clock, registry);
    REQUIRE_FALSE(service.ok());
    CHECK(service.error().code == ErrorCode::kDataLoss);
    CHECK_THAT(service.error().message,
               Catch::Contains(options.path) && Catch::Contains("on_corrupt"));
    CHECK_FALSE(fs::exists(options.path + kAsideSuffix));
  }
  CHECK(registry.value("aisle_collector_store_corrupt_total", {{"store", "profiles"}}) == 1);
}

}  // namespace aisle::collector
