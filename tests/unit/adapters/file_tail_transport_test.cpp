// File tail transport against real files: appended lines, rotation by rename (logrotate's
// default) and by copytruncate, start at end or beginning.
#include "firmware_adapters/transports/file_tail_transport.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "tests/support/fake_adapter.hpp"
#include "tests/support/temp_dir.hpp"

namespace aisle::adapters {
namespace {

using namespace std::chrono_literals;

// A writer holding the file open in append mode, as a POS export or a gateway log does.
class Writer {
 public:
  explicit Writer(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    REQUIRE(fd_ >= 0);
  }
  ~Writer() { ::close(fd_); }
  void write(const std::string& text) const {
    REQUIRE(::write(fd_, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }

 private:
  int fd_;
};

FileTailOptions options_for(const std::string& path, bool start_at_end) {
  FileTailOptions options;
  options.path = path;
  options.start_at_end = start_at_end;
  options.poll_interval = 20ms;
  return options;
}

std::vector<std::string> numbered(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i <= to; ++i) out.push_back("line-" + std::to_string(i));
  return out;
}

std::string text_of(int from, int to) {
  std::string out;
  for (const auto& line : numbered(from, to)) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("file transport starting at the end delivers only lines appended afterwards",
          "[adapters][file]") {
  test::TempDir dir("aisle-file");
  const std::string path = dir.file("pos.log");
  Writer writer(path);
  writer.write(text_of(1, 3));
  ManualClock clock;
  test::FrameCollector frames;
  FileTailTransport transport(options_for(path, true), clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(frames.wait_for(0));
  std::this_thread::sleep_for(60ms);
  writer.write(text_of(4, 5));
  REQUIRE(frames.wait_for(2));
  std::this_thread::sleep_for(60ms);
  REQUIRE(frames.lines() == numbered(4, 5));
  REQUIRE(frames.frames()[0].origin == "file:" + path);
  const auto started = std::chrono::steady_clock::now();
  transport.stop();
  REQUIRE(std::chrono::steady_clock::now() - started < 200ms);
}

TEST_CASE("file transport starting at the beginning reads what the file holds, then follows",
          "[adapters][file]") {
  test::TempDir dir("aisle-file");
  const std::string path = dir.file("pos.log");
  Writer writer(path);
  writer.write(text_of(1, 3));
  ManualClock clock;
  test::FrameCollector frames;
  FileTailTransport transport(options_for(path, false), clock);
  REQUIRE(transport.start(frames.sink()));
  REQUIRE(frames.wait_for(3));
  writer.write("line-4\nline-");
  std::this_thread::sleep_for(60ms);
  writer.write("5\n");
  REQUIRE(frames.wait_for(5));
  std::this_thread::sleep_for(60ms);
  REQUIRE(frames.lines() == numbered(1, 5));
  REQUIRE(frames.frames()[4].line == 5);
}

TEST_CASE("file transport follows a rotation by rename without losing or repeating a line",
          "[adapters][file]") {
  test::TempDir dir("aisle-file");
  const std::string path = dir.file("gateway.log");
  ManualClock clock;
  test::FrameCollector frames;
  auto writer = std::make_unique<Writer>(path);
  FileTailTransport transport(options_for(path, true), clock);
  REQUIRE(transport.start(frames.sink()));
  std::this_thread::sleep_for(60ms);
  writer->write(text_of(1, 3));
  REQUIRE(frames.wait_for(3));

  std::filesystem::rename(path, path + ".1");  // logrotate
  writer->write("line-4\n");                   // the writer still holds the old file
  std::this_thread::sleep_for(60ms);           // the path is missing for a while
  writer = std::make_unique<Writer>(path);     // the writer reopens (SIGHUP)
  writer->write(text_of(5, 7));
  REQUIRE(frames.wait_for(7));
  std::this_thread::sleep_for(100ms);
  REQUIRE(frames.lines() == numbered(1, 7));
  REQUIRE(transport.stats().reconnects == 1);

  // A second rotation where the new file appears at once.
  std::filesystem::rename(path, path + ".2");
  writer = std::make_unique<Writer>(path);
  writer->write(text_of(8, 9));
  REQUIRE(frames.wait_for(9));
  std::this_thread::sleep_for(100ms);
  REQUIRE(frames.lines() == numbered(1, 9));
}

TEST_CASE("file transport follows a rotation by copytruncate without repeating a line",
          "[adapters][file]") {
  test::TempDir dir("aisle-file");
  const std::string path = dir.file("counter.log");
  ManualClock clock;
  test::FrameCollector frames;
  Writer writer(path);
  writer.write(text_of(1, 2));
  FileTailTransport transport(options_for(path, false), clock);
  REQUIRE(transport.start(frames.sink()));
  writer.write(text_of(3, 10));
  REQUIRE(frames.wait_for(10));

  std::filesystem::copy_file(path, path + ".1");  // logrotate copytruncate
  REQUIRE(::truncate(path.c_str(), 0) == 0);
  std::this_thread::sleep_for(60ms);
  writer.write(text_of(11, 12));  // O_APPEND: written at the new end, offset 0
  REQUIRE(frames.wait_for(12));
  std::this_thread::sleep_for(100ms);
  REQUIRE(frames.lines() == numbered(1, 12));
  REQUIRE(frames.frames()[10].line == 1);  // numbering restarts with the emptied file
}

TEST_CASE("file transport waits for a file that does not exist yet", "[adapters][file]") {
  test::TempDir dir("aisle-file");
  const std::string path = dir.file("later.log");
  ManualClock clock;
  test::FrameCollector frames;
  FileTailTransport transport(options_for(path, true), clock);
  REQUIRE(transport.start(frames.sink()));
  std::this_thread::sleep_for(60ms);
  REQUIRE_FALSE(transport.stats().connected);
  Writer writer(path);
  writer.write(text_of(1, 1));  // a file that appears later is read from its beginning
  REQUIRE(frames.wait_for(1));
  REQUIRE(transport.stats().connected);
  writer.write(text_of(2, 2));
  REQUIRE(frames.wait_for(2));
  REQUIRE(frames.lines() == numbered(1, 2));
}

}  // namespace aisle::adapters
