// aislectl: the operator's command-line tool. Each subcommand lives in its own file; this is
// only the dispatch.
#include <iostream>
#include <string>
#include <vector>

#include "common/aislectl/audit_command.hpp"
#include "common/aislectl/demo_command.hpp"
#include "common/aislectl/devenv_command.hpp"
#include "common/aislectl/eval_command.hpp"
#include "common/aislectl/pki_command.hpp"
#include "common/aislectl/quarantine_command.hpp"
#include "common/aislectl/schema_command.hpp"
#include "common/aislectl/simulate_command.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: aislectl <command> [args]\n"
    "\n"
    "Commands:\n"
    "  schema check FILE...   validate events against the schema registry\n"
    "  schema list            list registered schemas\n"
    "  pki init|issue         a tenant CA and certificates for agents, collector, broker\n"
    "  devenv init|up|down|status DIR\n"
    "                         a complete local environment (broker, collector, agents)\n"
    "  quarantine ls|show|replay\n"
    "                         inspect and replay quarantined input at a collector\n"
    "  audit verify FILE      check the hash chain of a collector audit log\n"
    "  simulate               drive an agent with a simulated store day (devices, kiosks, web)\n"
    "  demo                   run a store end to end on embedded defaults (`make demo`)\n"
    "  eval recs --train FILE --test FILE\n"
    "                         offline evaluation of the recommendation models (HR@20, MRR@20)\n"
    "  version                print the version\n"
    "\n"
    "`aislectl <command> --help` describes each command.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "schema") return aisle::ctl::run_schema_command(rest);
  if (command == "pki") return aisle::ctl::run_pki_command(rest);
  if (command == "devenv") return aisle::ctl::run_devenv_command(rest);
  if (command == "quarantine") return aisle::ctl::run_quarantine_command(rest);
  if (command == "audit") return aisle::ctl::run_audit_command(rest);
  if (command == "simulate") return aisle::ctl::run_simulate_command(rest);
  if (command == "demo") return aisle::ctl::run_demo_command(rest);
  if (command == "eval") return aisle::ctl::run_eval_command(rest);
  if (command == "version" || command == "--version") {
    std::cout << "aislectl " << AISLE_VERSION << "\n";
    return 0;
  }
  std::cerr << "aislectl: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
