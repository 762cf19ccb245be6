#include "common/schema/registry.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json_text.hpp"

namespace aisle::schema {
namespace fs = std::filesystem;

namespace {

constexpr JsonLimits kSchemaFileLimits{4 * 1024 * 1024, 256};

Result<nlohmann::json> read_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, "cannot open");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_json(buffer.str(), kSchemaFileLimits);
}

std::string base_uri_for(const std::string& uri) { return std::string(kRegistryBaseUri) + uri; }

}  // namespace

Result<RegistryPtr> Registry::load(const std::vector<std::string>& dirs) {
  std::vector<LoadedSchema> schemas;
  std::vector<std::string> errors;
  std::map<std::string, std::string> file_by_uri;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      errors.push_back(dir + ": not a directory");
      continue;
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_regular_file() && it->path().extension() == ".json") files.push_back(it->path());
    }
    if (ec) errors.push_back(dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const fs::path relative = fs::relative(file, dir);
      // Example events sit beside the schemas; they are data, not schemas.
      if (!relative.empty() && *relative.begin() == "examples") continue;
      std::vector<std::string> parts;
      for (const auto& part : relative) parts.push_back(part.string());
      std::optional<SchemaKey> key;
      if (parts.size() == 4) {
        key = parse_schema_uri(parts[0] + "/" + parts[1] + "/" + parts[2] + "/" +
                               fs::path(parts[3]).stem().string());
      }
      if (!key) {
        errors.push_back(file.string() +
                         ": not at <vendor>/<name>/jsonschema/<model>-<revision>-<addition>.json");
        continue;
      }
      auto document = read_json_file(file);
      if (!document) {
        errors.push_back(file.string() + ": " + document.error().message);
        continue;
      }
      const std::string uri = key->uri();
      if (auto [it, inserted] = file_by_uri.emplace(uri, file.string()); !inserted) {
        errors.push_back(file.string() + ": " + uri + " is already defined by " + it->second);
        continue;
      }
      schemas.push_back(LoadedSchema{*key, uri, file.string(), std::move(*document), nullptr});
    }
  }
  return build(std::move(schemas), std::move(errors));
}

Result<RegistryPtr> Registry::from_documents(
    const std::map<std::string, nlohmann::json>& documents_by_uri) {
  std::vector<LoadedSchema> schemas;
  std::vector<std::string> errors;
  for (const auto& [uri, document] : documents_by_uri) {
    auto key = parse_schema_uri(uri);
    if (!key) {
      errors.push_back(uri + ": not a schema URI <vendor>/<name>/jsonschema/<M-R-A>");
      continue;
    }
    schemas.push_back(LoadedSchema{*key, uri, "<memory>", document, nullptr});
  }
  return build(std::move(schemas), std::move(errors));
}

Result<RegistryPtr> Registry::build(std::vector<LoadedSchema> schemas,
                                    std::vector<std::string> errors) {
  auto registry = std::shared_ptr<Registry>(new Registry());
  // Other registry documents are reachable by $ref through their base URI.
  std::map<std::string, const nlohmann::json*, std::less<>> documents;
  for (const auto& schema : schemas) documents.emplace(base_uri_for(schema.uri), &schema.document);
  CompileOptions options;
  options.format_assertion = true;
  options.resolve_remote = [&documents](std::string_view uri) -> const nlohmann::json* {
    auto it = documents.find(uri);
    return it == documents.end() ? nullptr : it->second;
  };
  for (auto& schema : schemas) {
    if (!schema.document.is_object()) {
      errors.push_back(schema.file + ": a schema must be a JSON object");
      continue;
    }
    options.base_uri = base_uri_for(schema.uri);
    auto compiled = CompiledSchema::compile(schema.document, options);
    if (!compiled) {
      errors.push_back(schema.file + ": " + compiled.error().message);
      continue;
    }
    schema.compiled = std::move(*compiled);
  }
  // Moved only after every schema compiled: `documents` points into `schemas` while compiling.
  for (auto& schema : schemas) {
    if (schema.compiled) registry->by_uri_.emplace(schema.uri, std::move(schema));
  }
  if (!errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
    return make_error(ErrorCode::kInvalidArgument, message);
  }
  for (const auto& [uri, schema] : registry->by_uri_) {
    auto& slot = registry->latest_by_type_[schema.key.name];
    const bool prefer_vendor = schema.key.vendor == "aisle" && (!slot || slot->key.vendor != "aisle");
    const bool same_vendor_newer = slot && slot->key.vendor == schema.key.vendor &&
                                   std::tie(slot->key.model, slot->key.revision,
                                            slot->key.addition) <
                                       std::tie(schema.key.model, schema.key.revision,
                                                schema.key.addition);
    if (!slot || prefer_vendor || same_vendor_newer) slot = &schema;
  }
  return RegistryPtr(std::move(registry));
}

const LoadedSchema* Registry::find(std::string_view uri) const {
  auto it = by_uri_.find(uri);
  return it == by_uri_.end() ? nullptr : &it->second;
}

const LoadedSchema* Registry::latest_for_type(std::string_view type) const {
  auto it = latest_by_type_.find(type);
  return it == latest_by_type_.end() ? nullptr : it->second;
}

std::vector<std::string> Registry::uris() const {
  std::vector<std::string> out;
  for (const auto& [uri, schema] : by_uri_) out.push_back(uri);
  return out;
}

Status RegistryHolder::reload() {
  auto loaded = Registry::load(dirs_);
  if (!loaded) return loaded.error();
  replace(std::move(*loaded));
  return ok_status();
}

std::string default_schemas_dir() {
  if (const char* env = std::getenv("AISLE_SCHEMAS_DIR"); env && *env) return env;
  std::error_code ec;
  for (const char* candidate : {"/usr/share/aisle/schemas", AISLE_SCHEMAS_SOURCE_DIR}) {
    if (fs::is_directory(candidate, ec)) return candidate;
  }
  return AISLE_SCHEMAS_SOURCE_DIR;
}

}  // namespace aisle::schema
