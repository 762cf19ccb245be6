// `aislectl pki init|issue|show`: a tenant CA and the certificates of brokers, collectors and
// agents (common/pki/pki.hpp).
#pragma once

#include <string>
#include <vector>

namespace aisle::ctl {

int run_pki_command(const std::vector<std::string>& args);

}  // namespace aisle::ctl
