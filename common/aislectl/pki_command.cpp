#include "common/aislectl/pki_command.hpp"

#include <charconv>
#include <iostream>

#include "common/log.hpp"
#include "common/pki/broker_config.hpp"
#include "common/pki/openssl_util.hpp"
#include "common/pki/pki.hpp"
#include "common/pki/revocation.hpp"
#include "common/time_format.hpp"

namespace aisle::ctl {
namespace {

constexpr const char* kUsage =
    "Usage: aislectl pki init DIR [--tenant T] [--days N]\n"
    "       aislectl pki issue --kind agent|collector|server [--store S] [--agent A]\n"
    "                          [--name N] [--san NAME]... [--days N] [--force] DIR\n"
    "       aislectl pki revoke DIR SERIAL|NAME [--reason R]\n"
    "       aislectl pki crl DIR [--days N]\n"
    "       aislectl pki acl DIR [--out FILE]\n"
    "       aislectl pki show FILE\n"
    "\n"
    "init   creates a tenant CA in DIR (ca.key 0600, ca.crt; EC P-256; default 3650 days).\n"
    "       Refuses to replace an existing CA.\n"
    "issue  issues a certificate signed by the CA in DIR (default 825 days) and records it in\n"
    "       DIR/index.json:\n"
    "         agent      --store S --agent A   CN=agent:S:A, OU=S   -> DIR/agent_S_A.crt/.key\n"
    "         collector  --name N              CN=collector:N       -> DIR/collector_N.crt/.key\n"
    "         server     --name HOST [--san NAME|IP]...  CN=HOST, SAN HOST, localhost,\n"
    "                    127.0.0.1 and every --san            -> DIR/server_HOST.crt/.key\n"
    "       --force replaces an existing certificate of the same name.\n"
    "revoke marks a certificate revoked (by serial or index name, e.g. agent_store-1_agent-1) and\n"
    "       rewrites DIR/ca.crl; reload the broker (SIGHUP) so it refuses the certificate.\n"
    "crl    rewrites DIR/ca.crl (default valid 30 days: renew it before it runs out).\n"
    "acl    prints (or writes to FILE, mode 0644) the broker's acl_file for every collector and\n"
    "       agent in DIR/index.json whose certificate is not revoked: run it after issue and\n"
    "       revoke, then reload the broker (packaging/mosquitto/README.md).\n"
    "show   prints a certificate's subject, issuer, serial, validity and names.\n"
    "\n"
    "The broker maps a client certificate's CN to its username, which its ACL names\n"
    "(docs/devenv.md). Exit 0 on success, 1 on failure, 2 on usage errors.\n";

bool parse_int(const std::string& text, int& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

int usage_error(const std::string& message) {
  std::cerr << "aislectl pki: " << message << "\n" << kUsage;
  return 2;
}

int run_init(const std::vector<std::string>& args) {
  pki::CaOptions options;
  std::string dir;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--tenant" && i + 1 < args.size()) {
      options.tenant = args[++i];
    } else if (a == "--days" && i + 1 < args.size()) {
      if (!parse_int(args[++i], options.days)) return usage_error("--days needs a number");
    } else if (a.rfind("--", 0) == 0 || !dir.empty()) {
      return usage_error("unexpected argument '" + a + "'");
    } else {
      dir = a;
    }
  }
  if (dir.empty()) return usage_error("init needs DIR");
  if (auto status = pki::init_ca(dir, options); !status) {
    std::cerr << "aislectl pki init: " << status.error().message << "\n";
    return 1;
  }
  std::cout << "CA for tenant " << options.tenant << ": " << pki::ca_cert_path(dir) << "\n";
  return 0;
}

int run_issue(const std::vector<std::string>& args) {
  pki::IssueOptions options;
  bool have_kind = false;
  std::string dir;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--kind" && has_value) {
      const auto kind = pki::parse_cert_kind(args[++i]);
      if (!kind) return usage_error("--kind must be agent, collector or server");
      options.kind = *kind;
      have_kind = true;
    } else if (a == "--store" && has_value) {
      options.store_id = args[++i];
    } else if (a == "--agent" && has_value) {
      options.agent_id = args[++i];
    } else if (a == "--name" && has_value) {
      options.name = args[++i];
    } else if (a == "--san" && has_value) {
      options.extra_names.push_back(args[++i]);
    } else if (a == "--days" && has_value) {
      if (!parse_int(args[++i], options.days) || options.days <= 0) {
        return usage_error("--days needs a positive number");
      }
    } else if (a == "--force") {
      options.overwrite = true;
    } else if (a.rfind("--", 0) == 0 || !dir.empty()) {
      return usage_error("unexpected argument '" + a + "'");
    } else {
      dir = a;
    }
  }
  if (!have_kind) return usage_error("issue needs --kind");
  if (dir.empty()) return usage_error("issue needs DIR");
  auto issued = pki::issue(dir, options);
  if (!issued) {
    std::cerr << "aislectl pki issue: " << issued.error().message << "\n";
    return issued.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << "CN=" << issued->common_name << " serial " << issued->serial_hex << " valid until "
            << format_rfc3339_ms(issued->not_after) << "\n"
            << "  certificate " << issued->cert_path << "\n"
            << "  key         " << issued->key_path << "\n";
  return 0;
}

int run_show(const std::vector<std::string>& args) {
  if (args.size() != 2) return usage_error("show needs FILE");
  auto info = pki::read_cert_info(args[1]);
  if (!info) {
    std::cerr << "aislectl pki show: " << info.error().message << "\n";
    return 1;
  }
  std::cout << "subject     " << info->subject << "\n"
            << "issuer      " << info->issuer << "\n"
            << "serial      " << info->serial_hex << "\n"
            << "not before  " << format_rfc3339_ms(info->not_before) << "\n"
            << "not after   " << format_rfc3339_ms(info->not_after) << "\n";
  for (const auto& name : info->dns_names) std::cout << "DNS         " << name << "\n";
  for (const auto& ip : info->ip_addresses) std::cout << "IP          " << ip << "\n";
  return 0;
}

}  // namespace

int run_revoke(const std::vector<std::string>& args) {
  std::string dir;
  pki::RevokeOptions options;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--reason" && i + 1 < args.size()) {
      options.reason = args[++i];
      if (options.reason != "unspecified" && options.reason != "key_compromise" &&
          options.reason != "superseded" && options.reason != "cessation_of_operation") {
        return usage_error("--reason must be unspecified, key_compromise, superseded or "
                           "cessation_of_operation");
      }
    } else if (dir.empty()) {
      dir = a;
    } else if (options.serial_or_name.empty()) {
      options.serial_or_name = a;
    } else {
      return usage_error("unexpected argument '" + a + "'");
    }
  }
  if (dir.empty() || options.serial_or_name.empty()) {
    return usage_error("revoke needs DIR and a serial or name");
  }
  auto revoked = pki::revoke(dir, options);
  if (!revoked) {
    std::cerr << "aislectl pki revoke: " << revoked.error().message << "\n";
    return 1;
  }
  std::cout << "revoked " << revoked->name << " (serial " << revoked->serial_hex << "); "
            << pki::crl_path(dir) << " rewritten: reload the broker (SIGHUP)\n";
  return 0;
}

int run_crl(const std::vector<std::string>& args) {
  std::string dir;
  int days = 30;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--days" && i + 1 < args.size()) {
      if (!parse_int(args[++i], days) || days < 1) return usage_error("--days needs a number");
    } else if (dir.empty()) {
      dir = a;
    } else {
      return usage_error("unexpected argument '" + a + "'");
    }
  }
  if (dir.empty()) return usage_error("crl needs DIR");
  if (auto status = pki::write_crl(dir, days); !status) {
    std::cerr << "aislectl pki crl: " << status.error().message << "\n";
    return 1;
  }
  std::cout << pki::crl_path(dir) << " valid for " << days << " days\n";
  return 0;
}

int run_acl(const std::vector<std::string>& args) {
  std::string dir;
  std::string out;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--out" && i + 1 < args.size()) {
      out = args[++i];
    } else if (a.rfind("--", 0) == 0 || !dir.empty()) {
      return usage_error("unexpected argument '" + a + "'");
    } else {
      dir = a;
    }
  }
  if (dir.empty()) return usage_error("acl needs DIR");
  auto options = pki::acl_options_from_index(dir);
  if (!options) {
    std::cerr << "aislectl pki acl: " << options.error().message << "\n";
    return 1;
  }
  const std::string text = pki::render_acl(*options);
  if (out.empty()) {
    std::cout << text;
    return 0;
  }
  if (auto status = pki::detail::write_file(out, text, 0644); !status) {
    std::cerr << "aislectl pki acl: " << status.error().message << "\n";
    return 1;
  }
  std::cout << out << ": " << options->collectors.size() << " collectors, "
            << options->agents.size() << " agents\n";
  return 0;
}

int run_pki_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  // The command prints what it did; the library's info lines would only repeat it.
  log::set_level(log::Level::kWarn);
  if (args[0] == "init") return run_init(args);
  if (args[0] == "issue") return run_issue(args);
  if (args[0] == "show") return run_show(args);
  if (args[0] == "revoke") return run_revoke(args);
  if (args[0] == "crl") return run_crl(args);
  if (args[0] == "acl") return run_acl(args);
  return usage_error("unknown subcommand '" + args[0] + "'");
}

}  // namespace aisle::ctl
