#include "common/corrupt_store.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/support/temp_dir.hpp"

namespace aisle {
namespace {

namespace fs = std::filesystem;

// 2023-11-14T22:13:20Z
constexpr UnixMillis kNow = 1'700'000'000'000;

}  // namespace

TEST_CASE("a corrupt store is renamed with a UTC stamp and its companions follow it",
          "[common][corrupt_store]") {
  test::TempDir dir("aisle-corrupt");
  const std::string path = dir.file("outbox.db");
  test::write_file(path, "main");
  test::write_file(path + "-wal", "wal");
  test::write_file(path + "-shm", "shm");

  auto moved = move_store_aside(path, kNow);
  REQUIRE(moved.ok());
  CHECK(*moved == path + ".corrupt-20231114T221320Z");
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + "-wal"));
  CHECK_FALSE(fs::exists(path + "-shm"));
  CHECK(test::read_file(*moved) == "main");
  CHECK(test::read_file(*moved + "-wal") == "wal");
  CHECK(test::read_file(*moved + "-shm") == "shm");

  // The same second again: a new name, the first copy untouched.
  test::write_file(path, "second");
  auto again = move_store_aside(path, kNow);
  REQUIRE(again.ok());
  CHECK(*again == path + ".corrupt-20231114T221320Z-2");
  CHECK(test::read_file(*moved) == "main");
  CHECK(test::read_file(*again) == "second");
}

TEST_CASE("open_or_move_aside moves a damaged store aside once and opens a fresh one",
          "[common][corrupt_store]") {
  test::TempDir dir("aisle-corrupt");
  const std::string path = dir.file("events.db");
  test::write_file(path, "damaged");
  metrics::Registry registry;
  const CorruptStoreReport report{"events", "aisle_collector_store_corrupt_total", &registry,
                                  nullptr, std::make_shared<ManualClock>(kNow)};
  const metrics::Labels labels = {{"store", "events"}};
  int attempts = 0;

  SECTION("move_aside: the second attempt sees no file") {
    const std::function<Result<int>()> open = [&]() -> Result<int> {
      ++attempts;
      if (fs::exists(path)) return make_error(ErrorCode::kDataLoss, "file is not a database");
      return 7;
    };
    auto opened = open_or_move_aside(path, CorruptStorePolicy{}, report, open);
    REQUIRE(opened.ok());
    CHECK(*opened == 7);
    CHECK(attempts == 2);
    CHECK(test::read_file(path + ".corrupt-20231114T221320Z") == "damaged");
    CHECK(registry.value("aisle_collector_store_corrupt_total", labels) == 1);
  }
  SECTION("refuse: the error names the setting and the file stays") {
    const std::function<Result<int>()> open = [&]() -> Result<int> {
      ++attempts;
      return make_error(ErrorCode::kDataLoss, "database disk image is malformed");
    };
    const CorruptStorePolicy refuse{OnCorrupt::kRefuse, StartupCheck::kQuick};
    auto opened = open_or_move_aside(path, refuse, report, open);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ErrorCode::kDataLoss);
    CHECK_THAT(opened.error().message, Catch::Contains("on_corrupt") &&
                                           Catch::Contains("malformed") && Catch::Contains(path));
    CHECK(attempts == 1);
    CHECK(test::read_file(path) == "damaged");
    CHECK(registry.value("aisle_collector_store_corrupt_total", labels) == 1);
  }
  SECTION("other errors are returned unchanged and move nothing") {
    const std::function<Result<int>()> open = [&]() -> Result<int> {
      ++attempts;
      return make_error(ErrorCode::kFailedPrecondition, "schema version 9 is newer");
    };
    auto opened = open_or_move_aside(path, CorruptStorePolicy{}, report, open);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == ErrorCode::kFailedPrecondition);
    CHECK(attempts == 1);
    CHECK(fs::exists(path));
    // The series exists at 0 for alert rules.
    CHECK(registry.render().find("aisle_collector_store_corrupt_total{store=\"events\"} 0") !=
          std::string::npos);
  }
  SECTION("a store still damaged after the move is an error, not a loop") {
    const std::function<Result<int>()> open = [&]() -> Result<int> {
      ++attempts;
      return make_error(ErrorCode::kDataLoss, "still broken");
    };
    auto opened = open_or_move_aside(path, CorruptStorePolicy{}, report, open);
    REQUIRE_FALSE(opened.ok());
    CHECK(attempts == 2);
  }
}

TEST_CASE("corruption settings parse their documented names only", "[common][corrupt_store]") {
  CHECK(parse_on_corrupt("move_aside") == OnCorrupt::kMoveAside);
  CHECK(parse_on_corrupt("refuse") == OnCorrupt::kRefuse);
  CHECK_FALSE(parse_on_corrupt("delete").has_value());
  CHECK(parse_startup_check("quick") == StartupCheck::kQuick);
  CHECK(parse_startup_check("header") == StartupCheck::kHeader);
  CHECK_FALSE(parse_startup_check("full").has_value());
  CHECK(std::string(on_corrupt_name(OnCorrupt::kRefuse)) == "refuse");
  CHECK(std::string(startup_check_name(StartupCheck::kHeader)) == "header");
}

}  // namespace aisle

namespace aisle {

TEST_CASE("a file shorter than its header's page count is truncated unless a WAL holds the rest",
          "[common][corrupt_store]") {
  test::TempDir dir("aisle-corrupt");
  const std::string path = dir.file("store.db");
  CHECK(check_not_truncated(path, 10, 4096).ok());  // no file yet: a new database
  test::write_file(path, std::string(8192, 'x'));
  CHECK(check_not_truncated(path, 2, 4096).ok());
  auto truncated = check_not_truncated(path, 4, 4096);
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().code == ErrorCode::kDataLoss);
  CHECK_THAT(truncated.error().message, Catch::Contains("truncated") && Catch::Contains("8192"));
  test::write_file(path + "-wal", "");  // an empty WAL holds nothing
  CHECK_FALSE(check_not_truncated(path, 4, 4096).ok());
  test::write_file(path + "-wal", std::string(100, 'w'));
  CHECK(check_not_truncated(path, 4, 4096).ok());
}

}  // namespace aisle
