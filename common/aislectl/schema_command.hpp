// `aislectl schema check FILE...` and `aislectl schema list`.
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_schema_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
