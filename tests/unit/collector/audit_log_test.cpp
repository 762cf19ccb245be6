#include "collector/audit/audit_log.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/audit_chain.hpp"
#include "common/metrics.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto newline = text.find('\n', start);
    if (newline == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, newline - start));
    start = newline + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

struct AuditFixture {
  test::TempDir dir{"aisle-audit"};
  std::string path = dir.file("audit.log");
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  metrics::Registry registry;

  std::unique_ptr<AuditLog> open() {
    auto log = AuditLog::open(path, clock, registry);
    REQUIRE(log.ok());
    return std::move(*log);
  }

  // Writes `count` records through a fresh AuditLog.
  void write_records(int count) {
    auto log = open();
    for (int i = 1; i <= count; ++i) {
      clock->advance(std::chrono::milliseconds(1500));
      REQUIRE(log->append("admin:ops", "profile.erase", "profile-" + std::to_string(i),
                          json{{"events", i}, {"reason", "GDPR Art. 17 request"}})
                  .ok());
    }
  }

  audit::VerifyReport verify() {
    auto report = audit::verify_file(path);
    REQUIRE(report.ok());
    return *report;
  }
};

TEST_CASE("audit log written by AuditLog verifies with its record count and head",
          "[collector][audit]") {
  AuditFixture f;
  f.write_records(5);
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == 5);
  CHECK(report.last_seq == 5);
  CHECK(report.bad_line == 0);
  CHECK(f.registry.value("aisle_collector_audit_records_total") == 5);

  const auto lines = split_lines(test::read_file(f.path));
  REQUIRE(lines.size() == 5);
  auto first = audit::parse_line(lines[0]);
  REQUIRE(first.ok());
  CHECK(first->seq == 1);
  CHECK(first->prev == audit::kGenesisHash);
  CHECK(first->actor == "admin:ops");
  CHECK(first->action == "profile.erase");
  CHECK(first->target == "profile-1");
  CHECK(first->details == json{{"events", 1}, {"reason", "GDPR Art. 17 request"}});
  CHECK(first->at == 1'700'000'001'500);
  // The line is the documented canonical text: sorted keys, no spaces, RFC 3339 ms timestamp.
  CHECK(
      lines[0].rfind(
          R"({"action":"profile.erase","actor":"admin:ops","at":"2023-11-14T22:13:21.500Z","details":{"events":1,"reason":"GDPR Art. 17 request"},"hash":")",
          0) == 0);
  auto second = audit::parse_line(lines[1]);
  REQUIRE(second.ok());
  CHECK(second->prev == first->hash);
  CHECK(report.last_hash == audit::parse_line(lines[4])->hash);
}

TEST_CASE("an empty audit log verifies with zero records", "[collector][audit]") {
  AuditFixture f;
  { auto log = f.open(); }
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == 0);
  CHECK(report.last_hash == audit::kGenesisHash);
}

TEST_CASE("audit verify names the line of an edited, removed or reordered record",
          "[collector][audit]") {
  AuditFixture f;
  f.write_records(6);
  const auto lines = split_lines(test::read_file(f.path));
  REQUIRE(lines.size() == 6);

  SECTION("one byte changed inside a middle record's value") {
    auto edited = lines;
    const auto at = edited[2].find("profile-3");
    REQUIRE(at != std::string::npos);
    edited[2][at + 8] = '9';  // profile-3 -> profile-9
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK_FALSE(report.ok);
    CHECK(report.bad_line == 3);
    CHECK(report.records == 2);
    CHECK(report.reason.find("wrong hash") != std::string::npos);
  }
  SECTION("a number in the details changed") {
    auto edited = lines;
    const auto at = edited[3].find("\"events\":4");
    REQUIRE(at != std::string::npos);
    edited[3][at + 9] = '0';
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 4);
    CHECK(report.reason.find("wrong hash") != std::string::npos);
  }
  SECTION("whitespace added: the parsed value is the same but the text is not canonical") {
    auto edited = lines;
    edited[1].insert(1, " ");
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 2);
    CHECK(report.reason.find("not canonical") != std::string::npos);
  }
  SECTION("a byte that breaks the JSON") {
    auto edited = lines;
    edited[4][0] = '[';
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 5);
    CHECK(report.reason.find("bad JSON") != std::string::npos);
  }
  SECTION("a middle record deleted") {
    auto edited = lines;
    edited.erase(edited.begin() + 3);
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 4);
    CHECK(report.reason.find("seq gap: expected 4, found 5") != std::string::npos);
  }
  SECTION("the first record deleted") {
    auto edited = lines;
    edited.erase(edited.begin());
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 1);
    CHECK(report.reason.find("seq gap") != std::string::npos);
  }
  SECTION("two records swapped") {
    auto edited = lines;
    std::swap(edited[1], edited[2]);
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 2);
    CHECK(report.reason.find("seq gap: expected 2, found 3") != std::string::npos);
  }
  SECTION("a record rewritten with its hash recomputed: the next record's prev breaks") {
    auto record = audit::parse_line(lines[2]);
    REQUIRE(record.ok());
    record->target = "someone-else";
    record->hash = audit::compute_hash(*record);
    auto edited = lines;
    edited[2] = audit::encode_line(*record);
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 4);
    CHECK(report.reason.find("wrong prev") != std::string::npos);
  }
  SECTION("a forged record inserted with a correct hash but the wrong prev") {
    audit::AuditRecord forged;
    forged.seq = 4;
    forged.at = 1'700'000'000'000;
    forged.actor = "admin:ops";
    forged.action = "consent.change";
    forged.prev = std::string(audit::kGenesisHash);
    forged.hash = audit::compute_hash(forged);
    auto edited = lines;
    edited.insert(edited.begin() + 3, audit::encode_line(forged));
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.bad_line == 4);
    CHECK(report.reason.find("wrong prev") != std::string::npos);
  }
  SECTION("records cut off the end leave a valid shorter chain: the head shows it") {
    auto edited = lines;
    edited.resize(4);
    test::write_file(f.path, join_lines(edited));
    const auto report = f.verify();
    CHECK(report.ok);
    CHECK(report.last_seq == 4);  // the anchor (6) no longer matches
  }
}

TEST_CASE("audit verify reports a torn last line", "[collector][audit]") {
  AuditFixture f;
  f.write_records(3);
  const std::string text = test::read_file(f.path);
  test::write_file(f.path, text + R"({"action":"profile.er)");
  const auto report = f.verify();
  CHECK_FALSE(report.ok);
  CHECK(report.torn_tail);
  CHECK(report.bad_line == 4);
  CHECK(report.records == 3);

  // A complete last record without its newline is torn as well (the write did not finish).
  test::write_file(f.path, text.substr(0, text.size() - 1));
  const auto again = f.verify();
  CHECK(again.torn_tail);
  CHECK(again.bad_line == 3);
}

TEST_CASE("reopening the audit log continues the chain", "[collector][audit]") {
  AuditFixture f;
  f.write_records(3);
  std::string head;
  {
    auto log = f.open();
    CHECK(log->last_seq() == 3);
    head = log->last_hash();
    REQUIRE(log->append("system", "retention.run", "", json::object()).ok());
    CHECK(log->last_seq() == 4);
  }
  {
    auto log = f.open();
    CHECK(log->last_seq() == 4);
    REQUIRE(log->append("admin:ops", "profile.unmerge", "p-1", nullptr).ok());
  }
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == 5);
  const auto lines = split_lines(test::read_file(f.path));
  CHECK(audit::parse_line(lines[3])->prev == head);
  CHECK(audit::parse_line(lines[4])->details == json::object());
}

TEST_CASE("opening an audit log with a torn tail saves it aside and records the recovery",
          "[collector][audit]") {
  AuditFixture f;
  f.write_records(2);
  const std::string torn = R"({"action":"consent.change","actor":"adm)";
  test::write_file(f.path, test::read_file(f.path) + torn);
  {
    auto log = f.open();
    CHECK(log->last_seq() == 3);  // the recovery record
    REQUIRE(log->append("admin:ops", "profile.erase", "p-9", json::object()).ok());
  }
  CHECK(f.registry.value("aisle_collector_audit_torn_tails_total") == 1);
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == 4);
  const auto lines = split_lines(test::read_file(f.path));
  auto recovery = audit::parse_line(lines[2]);
  REQUIRE(recovery.ok());
  CHECK(recovery->action == "audit.torn_tail");
  CHECK(recovery->actor == "system");
  CHECK(recovery->details.at("torn_bytes") == torn.size());
  const std::string saved = recovery->details.at("saved_to").get<std::string>();
  CHECK(test::read_file(saved) == torn);  // the evidence is kept, byte for byte
  CHECK(std::filesystem::path(saved).parent_path() == f.dir.path());
}

TEST_CASE("a bad last record refuses to open: the chain is not continued blindly",
          "[collector][audit]") {
  AuditFixture f;
  f.write_records(3);
  auto lines = split_lines(test::read_file(f.path));
  const auto at = lines[2].find("profile-3");
  lines[2][at] = 'P';
  test::write_file(f.path, join_lines(lines));
  auto log = AuditLog::open(f.path, f.clock, f.registry);
  REQUIRE_FALSE(log.ok());
  CHECK(log.error().code == ErrorCode::kDataLoss);
  CHECK(log.error().message.find("aislectl audit verify") != std::string::npos);
}

TEST_CASE("audit append refuses details that are not an object or too large",
          "[collector][audit]") {
  AuditFixture f;
  AuditLogOptions options;
  options.path = f.path;
  options.max_record_bytes = 1024;
  auto log = AuditLog::open(options, f.clock, f.registry);
  REQUIRE(log.ok());
  auto not_object = (*log)->append("admin:ops", "x", "", json::array({1, 2}));
  REQUIRE_FALSE(not_object.ok());
  CHECK(not_object.error().code == ErrorCode::kInvalidArgument);
  auto too_big = (*log)->append("admin:ops", "x", "", json{{"blob", std::string(2000, 'a')}});
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().message.find("limit 1024") != std::string::npos);
  CHECK((*log)->last_seq() == 0);
  CHECK(f.registry.value("aisle_collector_audit_append_failures_total") == 2);
  // Awkward but representable content is written canonically and verifies.
  REQUIRE((*log)
              ->append("admin:\"quoted\"\n", "x", "ünïcode/\x01",
                       json{{"pi", 3.14159},
                            {"big", 18446744073709551615ULL},
                            {"neg", -7},
                            {"nested", {{"z", 1}, {"a", {nullptr, true}}}}})
              .ok());
  REQUIRE((*log)->append("admin:ops", "x", "", json{{"bad_utf8", std::string("\xff\xfe")}}).ok());
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == 2);
}

TEST_CASE("a failed audit write is reported and, when it cannot be undone, stops the log",
          "[collector][audit]") {
  // /dev/full fails every write with ENOSPC and cannot be truncated: the worst case.
  if (!std::filesystem::exists("/dev/full")) return;
  metrics::Registry registry;
  auto log = AuditLog::open("/dev/full", std::make_shared<ManualClock>(), registry);
  REQUIRE(log.ok());
  auto full = (*log)->append("admin:ops", "profile.erase", "p-1", json::object());
  REQUIRE_FALSE(full.ok());
  CHECK(full.error().code == ErrorCode::kResourceExhausted);
  auto after = (*log)->append("admin:ops", "profile.erase", "p-2", json::object());
  REQUIRE_FALSE(after.ok());
  CHECK(after.error().code == ErrorCode::kDataLoss);
  CHECK((*log)->last_seq() == 0);
  CHECK(registry.value("aisle_collector_audit_append_failures_total") == 2);
}

TEST_CASE("concurrent audit appends form one unbroken chain", "[collector][audit]") {
  AuditFixture f;
  auto log = f.open();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, &failures, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log->append("admin:t" + std::to_string(t), "consent.change", std::to_string(i),
                         json::object())) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  const auto report = f.verify();
  CHECK(report.ok);
  CHECK(report.records == kThreads * kPerThread);
  CHECK(log->last_seq() == kThreads * kPerThread);
}

TEST_CASE("audit parse_line refuses records with missing, extra or mistyped fields",
          "[collector][audit]") {
  audit::AuditRecord r;
  r.seq = 1;
  r.at = 1'700'000'000'000;
  r.actor = "a";
  r.action = "b";
  r.prev = std::string(audit::kGenesisHash);
  r.hash = audit::compute_hash(r);
  const std::string good = audit::encode_line(r);
  REQUIRE(audit::parse_line(good).ok());
  json j = json::parse(good);
  const auto reason = [](const json& value) {
    auto parsed = audit::parse_line(value.dump());
    REQUIRE_FALSE(parsed.ok());
    return parsed.error().message;
  };
  json extra = j;
  extra["x"] = 1;
  CHECK(reason(extra).find("9 fields") != std::string::npos);
  json seq_string = j;
  seq_string["seq"] = "1";
  CHECK(reason(seq_string).find("'seq'") != std::string::npos);
  json details_array = j;
  details_array["details"] = json::array();
  CHECK(reason(details_array).find("'details'") != std::string::npos);
  json bad_at = j;
  bad_at["at"] = "yesterday";
  CHECK(reason(bad_at).find("'at'") != std::string::npos);
  json upper_hash = j;
  upper_hash["hash"] = std::string(64, 'A');
  CHECK(reason(upper_hash).find("64 lowercase hex") != std::string::npos);
  CHECK_FALSE(audit::parse_line("[]").ok());
  CHECK_FALSE(audit::parse_line("").ok());
  audit::ParseLimits small;
  small.max_line_bytes = 10;
  CHECK(audit::parse_line(good, small).error().message.find("limit 10") != std::string::npos);
}

}  // namespace
}  // namespace aisle::collector
