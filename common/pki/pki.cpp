#include "common/pki/pki.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/pki/openssl_util.hpp"
#include "common/pki/revocation.hpp"

namespace aisle::pki {
namespace {

const log::Logger logger("common.pki");

// A few minutes of backdating, so a store whose clock runs slightly behind the CA's still accepts
// a certificate issued just now.
constexpr long kBackdateSeconds = 300;
constexpr std::size_t kMaxCommonName = 64;  // X.509 upper bound (ub-common-name)

using detail::BioPtr;
using detail::Deleter;
using detail::PkeyPtr;
using detail::ssl_error;
using detail::load_cert;
using detail::name_entry;
using detail::load_key;
using detail::read_index;
using detail::write_file;
using detail::X509Ptr;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
void free_openssl_string(char* p) {
  OPENSSL_free(p);
}
using OsslStringPtr = std::unique_ptr<char, Deleter<free_openssl_string>>;


bool is_id(std::string_view text) {
  if (text.empty() || text.size() > 64) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253 || text.front() == '.' || text.front() == '-') return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

}  // namespace

namespace detail {

// Writes through a temporary file and rename, so a crash never leaves half a key behind; `mode`
// is set explicitly because the umask could widen it.
Status write_file(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return make_error(ErrorCode::kIo, "cannot create " + tmp + ": " + strerror(errno));
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::kIo, "cannot write " + path + ": " + reason);
  }
  return ok_status();
}

}  // namespace detail

namespace {

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0) return ssl_error(ErrorCode::kInternal, "BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(size));
}

Result<std::string> key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot encode private key");
  }
  return bio_text(bio.get());
}

Result<std::string> cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot encode certificate");
  }
  return bio_text(bio.get());
}

Result<PkeyPtr> generate_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return ssl_error(ErrorCode::kInternal, "cannot generate an EC P-256 key");
  return key;
}

// 128 random bits with the top bit cleared: positive, unpredictable, unique in practice (RFC 5280
// allows up to 20 octets).
Status set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return ssl_error(ErrorCode::kInternal, "RAND_bytes");
  }
  bytes[0] &= 0x7F;
  bytes[0] |= 0x01;  // never a shorter (or zero) serial
  BnPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert))) {
    return ssl_error(ErrorCode::kInternal, "cannot set serial number");
  }
  return ok_status();
}

std::string serial_hex(const X509* cert) {
  BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return "";
  OsslStringPtr hex(BN_bn2hex(bn.get()));
  std::string out = hex ? hex.get() : "";
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

UnixMillis asn1_time_ms(const ASN1_TIME* time) {
  std::tm tm{};
  if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return static_cast<UnixMillis>(timegm(&tm)) * 1000;
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  auto text = bio_text(bio.get());
  return text ? *text : "";
}

Status add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                 0) != 1) {
    return ssl_error(ErrorCode::kInvalidArgument, std::string("bad subject ") + field);
  }
  return ok_status();
}

// `value` uses openssl.cnf's syntax ("critical,CA:FALSE"); no config database is involved.
Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return ssl_error(ErrorCode::kInternal,
                     std::string("cannot add extension ") + OBJ_nid2sn(nid) + "=" + value);
  }
  return ok_status();
}

struct Validity {
  std::time_t not_before;
  std::time_t not_after;
};

Status set_validity(X509* cert, const Validity& validity) {
  if (!ASN1_TIME_set(X509_getm_notBefore(cert), validity.not_before) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert), validity.not_after)) {
    return ssl_error(ErrorCode::kInternal, "cannot set validity");
  }
  return ok_status();
}

Validity validity_for_days(int days) {
  const std::time_t now = std::time(nullptr);
  return {now - kBackdateSeconds, now + static_cast<std::time_t>(days) * 86400};
}

// Builds, extends and signs a certificate. `issuer` null means self-signed (the CA).
Result<X509Ptr> build_cert(EVP_PKEY* key,
                           const std::vector<std::pair<const char*, std::string>>& subject,
                           const Validity& validity, X509* issuer, EVP_PKEY* issuer_key,
                           const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return ssl_error(ErrorCode::kInternal, "X509_new");
  }
  if (auto s = set_random_serial(cert.get()); !s) return s.error();
  if (auto s = set_validity(cert.get(), validity); !s) return s.error();
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject) {
    if (auto s = add_name_entry(name, field, value); !s) return s.error();
  }
  const X509_NAME* issuer_name = issuer ? X509_get_subject_name(issuer) : name;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return ssl_error(ErrorCode::kInternal, "cannot set issuer or public key");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : extensions) {
    if (auto s = add_extension(cert.get(), &ctx, nid, value); !s) return s.error();
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) <= 0) {
    return ssl_error(ErrorCode::kInternal, "cannot sign certificate");
  }
  return cert;
}

}  // namespace

namespace detail {

Result<X509Ptr> load_cert(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return make_error(ErrorCode::kNotFound, "cannot open certificate " + path);
  }
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM certificate: " + path);
  return cert;
}

}  // namespace detail

namespace {

}  // namespace

namespace detail {

Result<PkeyPtr> load_key(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return make_error(ErrorCode::kNotFound, "cannot open key " + path);
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return ssl_error(ErrorCode::kInvalidArgument, "not a PEM private key: " + path);
  return key;
}

}  // namespace detail

namespace {

// Writes the pair: the key first (0600), then the certificate, so a certificate on disk always
// has its key.
Status write_pair(const std::string& key_path, EVP_PKEY* key, const std::string& cert_path,
                  X509* cert) {
  auto key_text = key_pem(key);
  if (!key_text) return key_text.error();
  auto cert_text = cert_pem(cert);
  if (!cert_text) return cert_text.error();
  if (auto s = write_file(key_path, *key_text, 0600); !s) return s;
  return write_file(cert_path, *cert_text, 0644);
}

}  // namespace

namespace detail {

Result<nlohmann::json> read_index(const std::string& dir) {
  std::ifstream in(index_path(dir));
  if (!in) return nlohmann::json{{"version", 1}, {"certs", nlohmann::json::array()}};
  auto index = nlohmann::json::parse(in, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("certs") ||
      !index["certs"].is_array()) {
    return make_error(ErrorCode::kDataLoss, index_path(dir) + " is not a certificate index");
  }
  return index;
}

}  // namespace detail

namespace {

Status append_index(const std::string& dir, nlohmann::json entry) {
  auto index = read_index(dir);
  if (!index) return index.error();
  (*index)["certs"].push_back(std::move(entry));
  return write_file(index_path(dir), index->dump(2) + "\n", 0644);
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

struct LeafProfile {
  std::string file_name;
  std::vector<std::pair<const char*, std::string>> subject;
  std::string common_name;
  std::string eku;
  std::string san;  // empty: no subjectAltName
};

Result<LeafProfile> leaf_profile(const std::string& tenant, const IssueOptions& options) {
  LeafProfile p;
  switch (options.kind) {
    case CertKind::kAgent:
      if (!is_id(options.store_id) || !is_id(options.agent_id)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "an agent certificate needs --store and --agent ids ([A-Za-z0-9.:-], "
                          "1-64 characters)");
      }
      p.common_name = agent_common_name(options.store_id, options.agent_id);
      p.subject = {{"O", tenant}, {"OU", options.store_id}, {"CN", p.common_name}};
      p.file_name = agent_file_name(options.store_id, options.agent_id);
      p.eku = "clientAuth";
      break;
    case CertKind::kCollector:
      if (!is_id(options.name)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "a collector certificate needs a --name id ([A-Za-z0-9.:-])");
      }
      p.common_name = collector_common_name(options.name);
      p.subject = {{"O", tenant}, {"CN", p.common_name}};
      p.file_name = collector_file_name(options.name);
      p.eku = "clientAuth";
      break;
    case CertKind::kServer: {
      if (!is_hostname(options.name)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "a server certificate needs a --name hostname ([A-Za-z0-9.-])");
      }
      p.common_name = options.name;
      p.subject = {{"O", tenant}, {"CN", p.common_name}};
      p.file_name = server_file_name(options.name);
      p.eku = "serverAuth";
      std::vector<std::string> names{"DNS:" + options.name, "DNS:localhost", "IP:127.0.0.1"};
      for (const auto& extra : options.extra_names) {
        if (is_ip_address(extra)) {
          names.push_back("IP:" + extra);
        } else if (is_hostname(extra)) {
          names.push_back("DNS:" + extra);
        } else {
          return make_error(ErrorCode::kInvalidArgument, "not a hostname or IP: '" + extra + "'");
        }
      }
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (std::find(names.begin(), names.begin() + static_cast<long>(i), names[i]) !=
            names.begin() + static_cast<long>(i)) {
          continue;  // e.g. hostname "localhost"
        }
        p.san += (p.san.empty() ? "" : ",") + names[i];
      }
      break;
    }
  }
  if (p.common_name.size() > kMaxCommonName) {
    return make_error(ErrorCode::kInvalidArgument,
                      "common name '" + p.common_name + "' is longer than 64 characters");
  }
  if (!options.file_name.empty()) {
    if (!is_id(options.file_name) || options.file_name.front() == '.' ||
        options.file_name == "ca") {
      return make_error(ErrorCode::kInvalidArgument, "bad file name '" + options.file_name + "'");
    }
    p.file_name = options.file_name;
  }
  return p;
}

}  // namespace

const char* cert_kind_name(CertKind kind) {
  switch (kind) {
    case CertKind::kAgent: return "agent";
    case CertKind::kCollector: return "collector";
    case CertKind::kServer: return "server";
  }
  return "unknown";
}

std::optional<CertKind> parse_cert_kind(std::string_view text) {
  if (text == "agent") return CertKind::kAgent;
  if (text == "collector") return CertKind::kCollector;
  if (text == "server") return CertKind::kServer;
  return std::nullopt;
}

std::string agent_common_name(std::string_view store_id, std::string_view agent_id) {
  return "agent:" + std::string(store_id) + ":" + std::string(agent_id);
}
std::string collector_common_name(std::string_view name) {
  return "collector:" + std::string(name);
}
std::string agent_file_name(std::string_view store_id, std::string_view agent_id) {
  return "agent_" + std::string(store_id) + "_" + std::string(agent_id);
}
std::string collector_file_name(std::string_view name) {
  return "collector_" + std::string(name);
}
std::string server_file_name(std::string_view hostname) {
  return "server_" + std::string(hostname);
}

Status init_ca(const std::string& dir, const CaOptions& options) {
  if (!is_id(options.tenant)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "tenant must match [A-Za-z0-9.:-]{1,64}: '" + options.tenant + "'");
  }
  if (options.days <= 0) return make_error(ErrorCode::kInvalidArgument, "days must be positive");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  if (std::filesystem::exists(ca_key_path(dir)) || std::filesystem::exists(ca_cert_path(dir))) {
    return make_error(ErrorCode::kAlreadyExists,
                      "a CA already exists in " + dir + " (refusing to replace it)");
  }
  auto key = generate_key();
  if (!key) return key.error();
  auto cert = build_cert(key->get(), {{"O", options.tenant}, {"CN", "Aisle CA " + options.tenant}},
                         validity_for_days(options.days), nullptr, nullptr,
                         {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                          {NID_key_usage, "critical,keyCertSign,cRLSign"},
                          {NID_subject_key_identifier, "hash"},
                          {NID_authority_key_identifier, "keyid:always"}});
  if (!cert) return cert.error();
  if (auto s = write_pair(ca_key_path(dir), key->get(), ca_cert_path(dir), cert->get()); !s) {
    return s;
  }
  nlohmann::json index{{"version", 1},
                       {"tenant", options.tenant},
                       {"ca_serial", serial_hex(cert->get())},
                       {"certs", nlohmann::json::array()}};
  if (auto s = write_file(index_path(dir), index.dump(2) + "\n", 0644); !s) return s;
  // An empty CRL from the start: the broker's crlfile must exist before anything is revoked.
  if (auto s = write_crl(dir); !s) return s;
  logger.info("created CA", {{"dir", dir}, {"tenant", options.tenant}});
  return ok_status();
}

Result<IssuedCert> issue(const std::string& dir, const IssueOptions& options) {
  auto ca_key = load_key(ca_key_path(dir));
  if (!ca_key)
    return make_error(ca_key.error().code, "no CA in " + dir + ": " + ca_key.error().message);
  auto ca_cert = load_cert(ca_cert_path(dir));
  if (!ca_cert) return ca_cert.error();
  if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
    return ssl_error(ErrorCode::kDataLoss, "ca.key does not match ca.crt in " + dir);
  }
  const std::string tenant =
      name_entry(X509_get_subject_name(ca_cert->get()), NID_organizationName);
  auto profile = leaf_profile(tenant, options);
  if (!profile) return profile.error();

  Validity validity = validity_for_days(options.days);
  if (options.not_before)
    validity.not_before = static_cast<std::time_t>(*options.not_before / 1000);
  if (options.not_after) validity.not_after = static_cast<std::time_t>(*options.not_after / 1000);
  if (validity.not_after <= validity.not_before) {
    return make_error(ErrorCode::kInvalidArgument, "not_after must be later than not_before");
  }

  IssuedCert issued;
  issued.cert_path = absolute(dir + "/" + profile->file_name + ".crt");
  issued.key_path = absolute(dir + "/" + profile->file_name + ".key");
  if (!options.overwrite &&
      (std::filesystem::exists(issued.cert_path) || std::filesystem::exists(issued.key_path))) {
    return make_error(ErrorCode::kAlreadyExists, issued.cert_path + " already exists");
  }
  auto key = generate_key();
  if (!key) return key.error();
  std::vector<std::pair<int, std::string>> extensions{
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, profile->eku},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!profile->san.empty()) extensions.emplace_back(NID_subject_alt_name, profile->san);
  auto cert =
      build_cert(key->get(), profile->subject, validity, ca_cert->get(), ca_key->get(), extensions);
  if (!cert) return cert.error();
  if (auto s = write_pair(issued.key_path, key->get(), issued.cert_path, cert->get()); !s) {
    return s.error();
  }
  issued.common_name = profile->common_name;
  issued.serial_hex = serial_hex(cert->get());
  issued.not_after = static_cast<UnixMillis>(validity.not_after) * 1000;
  nlohmann::json entry{{"serial", issued.serial_hex},
                       {"kind", cert_kind_name(options.kind)},
                       {"name", profile->file_name},
                       {"subject", name_text(X509_get_subject_name(cert->get()))},
                       {"not_before", static_cast<UnixMillis>(validity.not_before) * 1000},
                       {"not_after", issued.not_after},
                       {"status", "valid"}};
  if (auto s = append_index(dir, std::move(entry)); !s) return s.error();
  logger.info("issued certificate", {{"kind", cert_kind_name(options.kind)},
                                     {"cn", issued.common_name},
                                     {"serial", issued.serial_hex}});
  return issued;
}

Result<CertInfo> read_cert_info(const std::string& path) {
  auto cert = load_cert(path);
  if (!cert) return cert.error();
  CertInfo info;
  const X509_NAME* subject = X509_get_subject_name(cert->get());
  info.common_name = name_entry(subject, NID_commonName);
  info.subject = name_text(subject);
  info.issuer = name_text(X509_get_issuer_name(cert->get()));
  info.serial_hex = serial_hex(cert->get());
  info.not_before = asn1_time_ms(X509_get0_notBefore(cert->get()));
  info.not_after = asn1_time_ms(X509_get0_notAfter(cert->get()));
  NamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* s = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_STRING* s = name->d.iPAddress;
      const int length = ASN1_STRING_length(s);
      char text[INET6_ADDRSTRLEN] = {};
      if ((length == 4 || length == 16) && inet_ntop(length == 4 ? AF_INET : AF_INET6,
                                                     ASN1_STRING_get0_data(s), text, sizeof text)) {
        info.ip_addresses.emplace_back(text);
      }
    }
  }
  return info;
}

Result<std::string> read_ca_tenant(const std::string& dir) {
  auto cert = load_cert(ca_cert_path(dir));
  if (!cert) return cert.error();
  return name_entry(X509_get_subject_name(cert->get()), NID_organizationName);
}

}  // namespace aisle::pki
