#include "agent/outbox/outbox.hpp"

namespace aisle::agent {

const char* priority_name(Priority priority) {
  switch (priority) {
    case Priority::kCritical: return "critical";
    case Priority::kNormal: return "normal";
    case Priority::kBulk: return "bulk";
  }
  return "normal";
}

std::optional<Priority> parse_priority(std::string_view text) {
  if (text == "critical") return Priority::kCritical;
  if (text == "normal") return Priority::kNormal;
  if (text == "bulk") return Priority::kBulk;
  return std::nullopt;
}

}  // namespace aisle::agent
