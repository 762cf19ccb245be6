// Validation on simdjson's DOM: the ingest hot path's yes/no answer without building a
// nlohmann::json tree (about 20 times slower to build than simdjson's tape on these machines:
// docs/BENCHMARKS.md).
#pragma once

#include <simdjson.h>

#include "common/schema/validator.hpp"

namespace aisle::schema {

// True only when `instance` is certainly valid against `schema`. False means invalid *or* not
// decided here (a program with unevaluated* or dynamic scope, const/enum/uniqueItems over
// objects and arrays, propertyNames): the caller then validates a nlohmann tree, which gives the
// exact answer and the errors.
bool validate_fast_dom(const CompiledSchema& schema, const simdjson::dom::element& instance);

}  // namespace aisle::schema
