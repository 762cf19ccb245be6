// Leveled, structured logging to stderr, one line per record, so journald (or a terminal) keeps
// it. Format "logfmt" (key=value, the default) or "json". Under journald ($JOURNAL_STREAM set)
// each line starts with its syslog priority ("<3>") so `journalctl -p err` works.
//
// One named Logger per module: `static log::Logger logger("agent.outbox");`. Thread-safe: a
// line is written with a single write(2).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>

namespace aisle::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

// A key=value pair attached to a record. Converts common value types on construction.
struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false"), quoted(false) {}
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>,
                                         int> = 0>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)), quoted(false) {}

  std::string_view key;
  std::string value;
  bool quoted = true;  // strings are quoted in JSON; numbers and booleans are not
};

// Process-wide settings (set once at startup from config; read on every log call).
void set_level(Level level);
Level level();
void set_format(Format format);
// Parses "debug|info|warn|error"; false when unknown.
bool parse_level(std::string_view text, Level& out);
// Redirects output (tests). nullptr restores stderr.
void set_sink(std::function<void(std::string_view line)> sink);

class Logger {
 public:
  explicit Logger(std::string name) : name_(std::move(name)) {}

  bool enabled(Level l) const { return static_cast<int>(l) >= static_cast<int>(level()); }
  void debug(std::string_view message, std::initializer_list<Field> fields = {}) const {
    if (enabled(Level::kDebug)) write(Level::kDebug, message, fields);
  }
  void info(std::string_view message, std::initializer_list<Field> fields = {}) const {
    if (enabled(Level::kInfo)) write(Level::kInfo, message, fields);
  }
  void warn(std::string_view message, std::initializer_list<Field> fields = {}) const {
    if (enabled(Level::kWarn)) write(Level::kWarn, message, fields);
  }
  void error(std::string_view message, std::initializer_list<Field> fields = {}) const {
    if (enabled(Level::kError)) write(Level::kError, message, fields);
  }

 private:
  void write(Level level, std::string_view message, std::initializer_list<Field> fields) const;
  std::string name_;
};

}  // namespace aisle::log
