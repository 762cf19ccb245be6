// OptionReader: reads one configuration section (a JSON object) into an options struct, with
// range checks, and refuses unknown keys, naming the offending path ("segments.drift.alpha: must
// be in (0, 1)"). Used by the parse_*_options functions of the learned segments and the KPIs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace aisle::collector::segments {

class OptionReader {
 public:
  OptionReader(std::string section, const nlohmann::json& json);

  bool get_bool(const std::string& key, bool fallback);
  std::int64_t get_int(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  // Range is inclusive unless `exclusive` (alpha in (0, 1)).
  double get_double(const std::string& key, double fallback, double min, double max,
                    bool exclusive = false);
  std::string get_enum(const std::string& key, const std::string& fallback,
                       const std::vector<std::string>& allowed);
  void fail(const std::string& key, const std::string& message);
  // The first error (or unknown key); ok when the section was fine.
  Status finish();

 private:
  const nlohmann::json* find(const std::string& key);
  std::string section_;
  const nlohmann::json& json_;
  std::set<std::string> known_;
  std::vector<std::string> errors_;
};

}  // namespace aisle::collector::segments
