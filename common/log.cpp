#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "common/time_format.hpp"

namespace aisle::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kLogfmt)};
std::mutex g_sink_mutex;
std::function<void(std::string_view)> g_sink;
const bool g_journald = std::getenv("JOURNAL_STREAM") != nullptr;

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

// syslog priorities: err=3, warning=4, info=6, debug=7.
char syslog_priority(Level l) {
  switch (l) {
    case Level::kDebug: return '7';
    case Level::kInfo: return '6';
    case Level::kWarn: return '4';
    case Level::kError: return '3';
  }
  return '6';
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// logfmt: bare when the value has no space, quote or '='; quoted and escaped otherwise.
void append_logfmt_value(std::string& out, std::string_view v) {
  const bool needs_quotes =
      v.empty() || v.find_first_of(" \"=\n\r\t\\") != std::string_view::npos;
  if (needs_quotes) {
    append_json_string(out, v);
  } else {
    out += v;
  }
}

}  // namespace

void set_level(Level l) { g_level = static_cast<int>(l); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }
void set_format(Format f) { g_format = static_cast<int>(f); }

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug") out = Level::kDebug;
  else if (text == "info") out = Level::kInfo;
  else if (text == "warn" || text == "warning") out = Level::kWarn;
  else if (text == "error") out = Level::kError;
  else return false;
  return true;
}

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lock(g_sink_mutex);
  g_sink = std::move(sink);
}

void Logger::write(Level l, std::string_view message,
                   std::initializer_list<Field> fields) const {
  std::string line;
  line.reserve(128 + message.size());
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (g_journald) {
    line += '<';
    line += syslog_priority(l);
    line += '>';
  }
  if (static_cast<Format>(g_format.load()) == Format::kJson) {
    line += "{\"ts\":\"";
    append_rfc3339_ms(line, now_ms);
    line += "\",\"level\":\"";
    line += level_name(l);
    line += "\",\"logger\":";
    append_json_string(line, name_);
    line += ",\"msg\":";
    append_json_string(line, message);
    for (const auto& f : fields) {
      line += ',';
      append_json_string(line, f.key);
      line += ':';
      if (f.quoted) {
        append_json_string(line, f.value);
      } else {
        line += f.value;
      }
    }
    line += '}';
  } else {
    // Under journald the timestamp is redundant (journald stamps every line).
    if (!g_journald) {
      line += "ts=";
      append_rfc3339_ms(line, now_ms);
      line += ' ';
    }
    line += "level=";
    line += level_name(l);
    line += " logger=";
    line += name_;
    line += " msg=";
    append_logfmt_value(line, message);
    for (const auto& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      append_logfmt_value(line, f.value);
    }
  }
  line += '\n';
  {
    std::lock_guard lock(g_sink_mutex);
    if (g_sink) {
      g_sink(line);
      return;
    }
  }
  // One write(2) per line keeps lines from different threads whole.
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace aisle::log
