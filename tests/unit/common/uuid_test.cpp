#include "common/uuid.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>
#include <vector>

using aisle::ManualClock;
using aisle::Uuid;
using aisle::UuidV7Generator;

TEST_CASE("generated ids are version 7 with the RFC variant and embed the clock",
          "[common][uuid]") {
  auto clock = std::make_shared<ManualClock>(1764325000123);
  UuidV7Generator generator(clock);
  const Uuid id = generator.next();
  CHECK(id.version() == 7);
  CHECK((id.bytes[8] & 0xC0) == 0x80);
  CHECK(id.v7_unix_ms() == 1764325000123);
  const auto parsed = Uuid::parse(id.to_string());
  REQUIRE(parsed);
  CHECK(*parsed == id);
}

TEST_CASE("ids increase strictly within one millisecond and when the clock steps back",
          "[common][uuid]") {
  auto clock = std::make_shared<ManualClock>(1764325000000);
  UuidV7Generator generator(clock);
  Uuid previous = generator.next();
  for (int i = 0; i < 20000; ++i) {
    if (i == 10000) clock->set_unix_ms(1764325000000 - 60000);  // wall clock jumps back
    const Uuid next = generator.next();
    REQUIRE(previous < next);
    REQUIRE(previous.to_string() < next.to_string());  // text order = byte order
    previous = next;
  }
}

TEST_CASE("ids from several threads are unique", "[common][uuid]") {
  UuidV7Generator generator;
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& ids : per_thread) {
    threads.emplace_back([&generator, &ids] {
      for (int i = 0; i < 5000; ++i) ids.push_back(generator.next().to_string());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& ids : per_thread) all.insert(ids.begin(), ids.end());
  CHECK(all.size() == 20000);
}

TEST_CASE("uuid text parsing accepts either case and refuses malformed text", "[common][uuid]") {
  CHECK(Uuid::parse("0193A4B2-7C3E-7A51-9C1E-5B7E2F0D4A11")->to_string() ==
        "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11");
  for (const char* bad : {"", "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a1",
                          "0193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a111", "0193a4b27c3e7a519c1e5b7e2f0d4a11",
                          "0193a4b2-7c3e-7a51-9c1e_5b7e2f0d4a11", "g193a4b2-7c3e-7a51-9c1e-5b7e2f0d4a11"}) {
    INFO(bad);
    CHECK_FALSE(Uuid::parse(bad).has_value());
  }
}

TEST_CASE("a v7 uuid laid out from its parts keeps time, version and variant", "[common][uuid]") {
  const aisle::UnixMillis ms = 1'764'000'000'123;
  const Uuid a = aisle::make_uuid_v7(ms, 0xFFFF, ~std::uint64_t{0});
  CHECK(a.version() == 7);
  CHECK((a.bytes[8] & 0xC0) == 0x80);  // RFC 9562 variant
  CHECK(a.v7_unix_ms() == ms);
  // Same parts, same id; different parts, different id.
  CHECK(aisle::make_uuid_v7(ms, 1, 2) == aisle::make_uuid_v7(ms, 1, 2));
  CHECK(aisle::make_uuid_v7(ms, 1, 2) != aisle::make_uuid_v7(ms, 1, 3));
  CHECK(aisle::make_uuid_v7(ms, 1, 2) != aisle::make_uuid_v7(ms, 2, 2));
}
