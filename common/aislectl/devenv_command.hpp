// `aislectl devenv init|up|down|status DIR`: a complete local environment (common/aislectl/
// devenv.hpp, docs/devenv.md).
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_devenv_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
