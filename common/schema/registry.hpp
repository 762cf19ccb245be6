// The schema registry: every event schema Aisle knows, compiled once, looked up by URI.
//
// Schemas live in directories laid out like an Iglu repository:
//   <dir>/<vendor>/<name>/jsonschema/<model>-<revision>-<addition>.json
// and are addressed as "<vendor>/<name>/jsonschema/<M-R-A>". A Registry is an immutable snapshot;
// RegistryHolder swaps snapshots atomically on reload (SIGHUP), keeping the old one when any
// file of the new set fails to load.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/event.hpp"
#include "common/result.hpp"
#include "common/schema/validator.hpp"

namespace aisle::schema {

// Base URI under which a registry schema can be $ref'd from another one:
// "https://schemas.aisle.dev/aisle/line_item/jsonschema/1-0-0".
inline constexpr std::string_view kRegistryBaseUri = "https://schemas.aisle.dev/";

struct LoadedSchema {
  SchemaKey key;
  std::string uri;   // key.uri()
  std::string file;  // where it was loaded from
  nlohmann::json document;
  CompiledSchemaPtr compiled;
};

class Registry {
 public:
  // Loads every schema under `dirs` (later directories may not redefine a URI of an earlier
  // one). On failure the error lists every file that failed with its reason, one per line.
  static Result<std::shared_ptr<const Registry>> load(const std::vector<std::string>& dirs);

  // Builds a registry from documents in memory (tests, embedded defaults).
  static Result<std::shared_ptr<const Registry>> from_documents(
      const std::map<std::string, nlohmann::json>& documents_by_uri);

  const LoadedSchema* find(std::string_view uri) const;
  // The newest version of an event type: vendor "aisle" wins over others of the same name;
  // nullptr when the type is unknown or ambiguous between other vendors.
  const LoadedSchema* latest_for_type(std::string_view type) const;
  std::size_t size() const { return by_uri_.size(); }
  std::vector<std::string> uris() const;

 private:
  static Result<std::shared_ptr<const Registry>> build(std::vector<LoadedSchema> schemas,
                                                       std::vector<std::string> errors);
  std::map<std::string, LoadedSchema, std::less<>> by_uri_;
  std::map<std::string, const LoadedSchema*, std::less<>> latest_by_type_;
};

using RegistryPtr = std::shared_ptr<const Registry>;

// Holds the active registry; readers take a snapshot (cheap, lock held only to copy the
// shared_ptr), the reloading thread swaps. Thread-safe.
class RegistryHolder {
 public:
  explicit RegistryHolder(RegistryPtr initial, std::vector<std::string> dirs = {})
      : current_(std::move(initial)), dirs_(std::move(dirs)) {}

  RegistryPtr current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Reloads from the directories given at construction. On failure the previous registry stays
  // active and the error names each failing file.
  Status reload();
  void replace(RegistryPtr registry) {
    std::lock_guard lock(mutex_);
    current_ = std::move(registry);
  }

 private:
  mutable std::mutex mutex_;
  RegistryPtr current_;
  std::vector<std::string> dirs_;
};

// Directories searched for the built-in schemas, in order: $AISLE_SCHEMAS_DIR, the installed
// share directory, then the source tree (for uninstalled builds). The first that exists wins.
std::string default_schemas_dir();

}  // namespace aisle::schema
