// `aislectl audit verify FILE`: checks a collector's hash-chained audit log.
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_audit_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
