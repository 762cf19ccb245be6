#include "firmware_adapters/transports/line_framer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace aisle::adapters {
namespace {

struct Line {
  std::string text;
  std::uint64_t number;
  bool truncated;
  bool operator==(const Line&) const = default;
};

struct Collect {
  std::vector<Line> lines;
  LineFramer::Emit emit() {
    return [this](std::string&& text, std::uint64_t number, bool truncated) {
      lines.push_back({std::move(text), number, truncated});
    };
  }
};

}  // namespace

TEST_CASE("line framer cuts LF and CRLF lines however the bytes are split", "[adapters][framer]") {
  const std::string stream = "a,1\r\nbb,2\nccc,3\r\n\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    LineFramer framer(64);
    Collect c;
    for (std::size_t i = 0; i < stream.size(); i += step)
      framer.feed(stream.substr(i, step), c.emit());
    INFO("step " << step);
    REQUIRE(c.lines ==
            std::vector<Line>{
                {"a,1", 1, false}, {"bb,2", 2, false}, {"ccc,3", 3, false}, {"", 4, false}});
    REQUIRE_FALSE(framer.has_partial());
  }
}

TEST_CASE("line framer delivers an oversize line once, cut and marked, and counts the rest",
          "[adapters][framer]") {
  LineFramer framer(4);
  Collect c;
  framer.feed("abcdefgh", c.emit());
  framer.feed("ij\nok\n", c.emit());
  REQUIRE(c.lines == std::vector<Line>{{"abcd", 1, true}, {"ok", 2, false}});
  REQUIRE(framer.discarded_bytes() == 6);
}

TEST_CASE("line framer accepts a line of exactly the limit with CRLF split between reads",
          "[adapters][framer]") {
  LineFramer framer(4);
  Collect c;
  framer.feed("abcd\r", c.emit());
  REQUIRE(c.lines.empty());
  framer.feed("\nabcd\rX\n", c.emit());
  REQUIRE(c.lines == std::vector<Line>{{"abcd", 1, false}, {"abcd", 2, true}});
}

TEST_CASE("line framer emits an unterminated last line at the end of the stream",
          "[adapters][framer]") {
  LineFramer framer(16);
  Collect c;
  framer.feed("one\ntwo", c.emit());
  REQUIRE(c.lines.size() == 1);
  framer.finish(c.emit());
  REQUIRE(c.lines == std::vector<Line>{{"one", 1, false}, {"two", 2, false}});
  framer.finish(c.emit());
  REQUIRE(c.lines.size() == 2);
}

}  // namespace aisle::adapters
