// `devenv init`: the PKI, the broker configuration and the daemons' configs of a local environment.
#include <pwd.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <optional>
#include <fstream>

#include "common/aislectl/devenv.hpp"
#include "common/crypto.hpp"
#include "common/pki/broker_config.hpp"
#include "common/pki/revocation.hpp"
#include "common/pki/pki.hpp"
#include "common/process.hpp"
#include "common/sim/catalog.hpp"

namespace aisle::ctl {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxStores = 200;
constexpr int kCaDays = 3650;
constexpr int kLeafDays = 825;
constexpr const char* kCollectorName = "collector-1";
constexpr const char* kBrokerHost = "localhost";

Status write_text(const fs::path& path, const std::string& text, fs::perms perms) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return make_error(ErrorCode::kIo, "cannot write " + path.string());
  }
  fs::permissions(path, perms, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot chmod " + path.string() + ": " + ec.message());
  return ok_status();
}

Status write_json(const fs::path& path, const nlohmann::json& json, bool secret) {
  const auto perms = secret ? fs::perms::owner_read | fs::perms::owner_write
                            : fs::perms::owner_read | fs::perms::owner_write |
                                  fs::perms::group_read | fs::perms::others_read;
  return write_text(path, json.dump(2) + "\n", perms);
}

// Mosquitto started as root switches to `user`; naming ourselves keeps the keys (0600, ours)
// readable without loosening their mode.
std::string current_user() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "";
}

std::string listen_on(int port) {
  return "127.0.0.1:" + std::to_string(port);
}
std::string http_url(int port) {
  return "http://" + listen_on(port);
}

// Removes what a previous init wrote (never DIR itself: it may hold the user's own files).
Status remove_previous(const fs::path& dir) {
  std::error_code ec;
  for (const char* sub :
       {"pki", "mosquitto", "data", "run", "log", "devices", "env.json", "collector.json"}) {
    fs::remove_all(dir / sub, ec);
    if (ec) return make_error(ErrorCode::kIo, "cannot remove " + (dir / sub).string());
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("agent-", 0) == 0 && entry.path().extension() == ".json") {
      fs::remove(entry.path(), ec);
    }
  }
  return ok_status();
}

Result<pki::IssuedCert> issue_cert(const std::string& pki_dir, pki::IssueOptions options) {
  options.days = kLeafDays;
  return pki::issue(pki_dir, options);
}

struct Ports {
  int mqtt = 0;
  int collector_http = 0;
  std::vector<int> agent_http;
  std::vector<std::array<int, 3>> devices;  // per agent: POS tcp, counter tcp, BLE udp
};

Result<Ports> pick_ports(int stores, bool devices) {
  Ports ports;
  auto next = [](int& out) -> Status {
    auto port = find_free_port();
    if (!port) return port.error();
    out = *port;
    return ok_status();
  };
  if (auto s = next(ports.mqtt); !s) return s.error();
  if (auto s = next(ports.collector_http); !s) return s.error();
  ports.agent_http.resize(static_cast<std::size_t>(stores));
  for (int& port : ports.agent_http) {
    if (auto s = next(port); !s) return s.error();
  }
  if (devices) {
    ports.devices.resize(static_cast<std::size_t>(stores));
    for (auto& triple : ports.devices) {
      for (int& port : triple) {
        if (auto s = next(port); !s) return s.error();
      }
    }
  }
  return ports;
}

// Every agent asks the collector for recommendations with a write key bound to its store.
std::string recs_key_file(const DevEnv& env, const std::string& agent_id) {
  return env.dir + "/pki/" + agent_id + ".recs-key";
}

// A few segments over what a store day produces, loaded by the collector at start
// (segments.definitions_dir; docs/segments.md has many more).
const std::vector<std::pair<std::string, std::string>>& demo_segments() {
  static const std::vector<std::pair<std::string, std::string>> segments = {
      {"browsing_now",
       R"json({"name": "Browsing now: 3 or more product views in 30 minutes",
  "condition": {"count": {"event": "product_view", "window": "30m", "op": ">=", "value": 3}}})json"},
      {"in_store_today",
       R"json({"name": "In a store today (a kiosk visit or a POS sale)",
  "condition": {"any": [
    {"count": {"event": "kiosk_interaction", "window": "24h", "op": ">=", "value": 1}},
    {"count": {"event": "purchase", "window": "24h", "op": ">=", "value": 1,
               "where": [{"property": "transaction_type", "op": "==", "value": "sale"}]}}]}})json"},
      {"big_spenders",
       R"json({"name": "Spent over 100 in the last 7 days",
  "condition": {"sum": {"event": "purchase", "property": "total", "window": "7d", "op": ">", "value": 100}}})json"},
      {"likely_to_buy",
       R"json({"name": "Likely to buy in this session (learned propensity)",
  "condition": {"score": {"model": "purchase_propensity", "op": ">", "value": 0.7}}})json"},
  };
  return segments;
}

nlohmann::json collector_config(const DevEnv& env, const pki::IssuedCert& cert, int http_port,
                                const std::string& share_group,
                                const std::vector<std::pair<std::string, std::string>>& recs_keys) {
  nlohmann::json write_keys = {{{"source", "web"}, {"sha256", crypto::sha256_hex(env.write_key)}}};
  for (const auto& [store_id, key] : recs_keys) {
    write_keys.push_back({{"source", "recs-" + store_id},
                          {"sha256", crypto::sha256_hex(key)},
                          {"store_id", store_id}});
  }
  return {
      {"tenant", env.tenant},
      {"collector_id", kCollectorName},
      {"log", {{"level", "info"}}},
      {"http", {{"listen", listen_on(http_port)}}},
      {"store", {{"path", env.dir + "/data/collector.db"}}},
      {"mqtt",
       {{"uri", env.mqtt},
        {"ca_file", env.ca_file},
        {"cert_file", cert.cert_path},
        {"key_file", cert.key_path},
        {"share_group", share_group}}},
      {"write_keys", write_keys},
      {"admin_keys",
       {{{"name", "devenv"}, {"sha256", crypto::sha256_hex(env.admin_key)}, {"scope", "admin"}}}},
      {"segments", {{"definitions_dir", env.dir + "/segments"}}},
      // Erasure receipts signed by a revoked agent certificate do not count (`pki revoke`
      // rewrites this CRL; `pki init` wrote an empty one).
      {"privacy",
       {{"fleet_crl_file",
         pki::crl_path(std::filesystem::path(env.ca_file).parent_path().string())}}},
  };
}

nlohmann::json agent_config(const DevEnv& env, const DevEnvAgent& agent,
                            const pki::IssuedCert& cert, int http_port,
                            const sim::Catalog* catalog) {
  nlohmann::json config = {
      {"tenant", env.tenant},
      {"store_id", agent.store_id},
      {"agent_id", agent.agent_id},
      {"log", {{"level", "info"}}},
      {"http", {{"listen", listen_on(http_port)}}},
      {"outbox", {{"path", env.dir + "/data/" + agent.agent_id + ".db"}}},
      {"mqtt",
       {{"uri", env.mqtt},
        {"ca_file", env.ca_file},
        {"cert_file", cert.cert_path},
        {"key_file", cert.key_path}}},
  };
  // Kiosks ask this agent; it asks the collector (and serves from its cache and the store
  // snapshot when the collector does not answer).
  config["recommendations"] = {{"collector_url", env.collector_http},
                               {"api_key_file", recs_key_file(env, agent.agent_id)}};
  if (catalog && agent.devices) {
    config["adapters"] =
        sim::agent_adapters_config(*catalog, *agent.devices, env.loyalty_key, env.device_speed);
  }
  return config;
}

}  // namespace

nlohmann::json devenv_to_json(const DevEnv& env) {
  nlohmann::json agents = nlohmann::json::array();
  for (const auto& a : env.agents) {
    agents.push_back({{"store_id", a.store_id},
                      {"agent_id", a.agent_id},
                      {"http", a.http},
                      {"config", a.config}});
    if (a.devices) agents.back()["devices"] = sim::device_endpoints_to_json(*a.devices);
  }
  return {{"loyalty_key", env.loyalty_key},
          {"catalog", sim::catalog_options_to_json(env.catalog)},
          {"device_speed", env.device_speed},
          {"dir", env.dir},
          {"tenant", env.tenant},
          {"mqtt", env.mqtt},
          {"mqtt_port", env.mqtt_port},
          {"collector_http", env.collector_http},
          {"write_key", env.write_key},
          {"admin_key", env.admin_key},
          {"ca_file", env.ca_file},
          {"agents", agents},
          {"collector_config", env.collector_config},
          {"mosquitto_config", env.mosquitto_config}};
}

Result<DevEnv> devenv_from_json(const nlohmann::json& json) {
  try {
    DevEnv env;
    env.dir = json.at("dir").get<std::string>();
    env.tenant = json.at("tenant").get<std::string>();
    env.mqtt = json.at("mqtt").get<std::string>();
    env.mqtt_port = json.at("mqtt_port").get<int>();
    env.collector_http = json.at("collector_http").get<std::string>();
    env.write_key = json.at("write_key").get<std::string>();
    env.admin_key = json.at("admin_key").get<std::string>();
    env.ca_file = json.at("ca_file").get<std::string>();
    for (const auto& a : json.at("agents")) {
      env.agents.push_back({a.at("store_id").get<std::string>(),
                            a.at("agent_id").get<std::string>(), a.at("http").get<std::string>(),
                            a.at("config").get<std::string>(), std::nullopt});
      if (a.contains("devices")) {
        auto devices = sim::device_endpoints_from_json(a.at("devices"));
        if (!devices) return make_error(ErrorCode::kDataLoss, "env.json: " + devices.error().message);
        env.agents.back().devices = *devices;
      }
    }
    env.loyalty_key = json.value("loyalty_key", "");
    env.catalog = sim::catalog_options_from_json(json.value("catalog", nlohmann::json::object()));
    env.device_speed = json.value("device_speed", 1.0);
    env.collector_config = json.at("collector_config").get<std::string>();
    env.mosquitto_config = json.at("mosquitto_config").get<std::string>();
    return env;
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::kDataLoss, std::string("env.json: ") + e.what());
  }
}

Result<nlohmann::json> read_env(const std::string& dir) {
  const std::string path = dir + "/env.json";
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::kNotFound, "no devenv in " + dir + " (" + path + ")");
  auto json = nlohmann::json::parse(in, nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return make_error(ErrorCode::kDataLoss, path + " is not valid JSON");
  }
  return json;
}

Result<DevEnv> read_devenv(const std::string& dir) {
  auto json = read_env(dir);
  if (!json) return json.error();
  return devenv_from_json(*json);
}

Result<DevEnv> devenv_init(const std::string& dir_arg, const DevEnvInitOptions& options) {
  if (options.stores < 1 || options.stores > kMaxStores) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--stores must be between 1 and " + std::to_string(kMaxStores));
  }
  std::error_code ec;
  const fs::path dir = fs::absolute(dir_arg, ec).lexically_normal();
  if (ec) return make_error(ErrorCode::kInvalidArgument, "bad directory " + dir_arg);
  const std::string dir_text = dir.has_filename() ? dir.string() : dir.parent_path().string();
  if (fs::exists(dir / "env.json")) {
    if (!options.force) {
      return make_error(ErrorCode::kAlreadyExists,
                        (dir / "env.json").string() + " exists (use --force to replace it)");
    }
    if (auto parts = devenv_status(dir_text); parts) {
      for (const auto& part : *parts) {
        if (part.pid) {
          return make_error(ErrorCode::kFailedPrecondition,
                            part.name + " is still running (pid " + std::to_string(*part.pid) +
                                "): run `aislectl devenv down " + dir_text + "` first");
        }
      }
    }
  }
  if (options.force) {
    if (auto s = remove_previous(dir); !s) return s.error();
  }
  for (const char* sub : {"pki", "mosquitto/data", "data", "log", "run"}) {
    fs::create_directories(dir / sub, ec);
    if (ec) return make_error(ErrorCode::kIo, "cannot create " + (dir / sub).string());
  }

  DevEnv env;
  env.dir = dir_text;
  env.tenant = options.tenant;
  const std::string pki_dir = env.dir + "/pki";
  if (auto s = pki::init_ca(pki_dir, {options.tenant, kCaDays}); !s) {
    if (s.error().code == ErrorCode::kAlreadyExists) {
      return make_error(ErrorCode::kAlreadyExists,
                        s.error().message + " (a previous init was interrupted? use --force)");
    }
    return s.error();
  }
  env.ca_file = pki::ca_cert_path(pki_dir);

  auto ports = pick_ports(options.stores, options.devices);
  if (!ports) return ports.error();
  env.mqtt_port = ports->mqtt;
  env.mqtt = "ssl://127.0.0.1:" + std::to_string(ports->mqtt);
  env.collector_http = http_url(ports->collector_http);
  env.write_key = crypto::random_hex(32);
  env.admin_key = crypto::random_hex(32);
  env.collector_config = env.dir + "/collector.json";
  env.mosquitto_config = env.dir + "/mosquitto/mosquitto.conf";
  std::optional<sim::Catalog> catalog;
  if (options.devices) {
    env.loyalty_key = crypto::random_hex(32);
    env.catalog = options.catalog;
    env.device_speed = options.device_speed;
    catalog = sim::build_catalog(options.catalog);
  }

  // Broker.
  pki::IssueOptions server;
  server.kind = pki::CertKind::kServer;
  server.name = kBrokerHost;
  auto server_cert = issue_cert(pki_dir, server);
  if (!server_cert) return server_cert.error();
  pki::AclOptions acl{env.tenant, {kCollectorName}, {}};
  for (int i = 1; i <= options.stores; ++i) {
    acl.agents.push_back({"store-" + std::to_string(i), "agent-" + std::to_string(i)});
  }
  pki::MosquittoOptions broker;
  broker.port = ports->mqtt;
  broker.ca_file = env.ca_file;
  broker.cert_file = server_cert->cert_path;
  broker.key_file = server_cert->key_path;
  broker.acl_file = env.dir + "/mosquitto/acl";
  if (std::filesystem::exists(pki::crl_path(pki_dir))) broker.crl_file = pki::crl_path(pki_dir);
  broker.persistence_dir = env.dir + "/mosquitto/data";
  broker.log_file = env.dir + "/log/mosquitto.log";
  broker.user = current_user();
  const auto text_perms = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                          fs::perms::others_read;
  if (auto s = write_text(broker.acl_file, pki::render_acl(acl), text_perms); !s) return s.error();
  if (auto s = write_text(env.mosquitto_config, pki::render_mosquitto_conf(broker), text_perms);
      !s) {
    return s.error();
  }

  // Collector. A random share group: Mosquitto lets any client join a shared group, so a
  // guessable name would let a compromised agent swallow its turn of everyone's batches.
  pki::IssueOptions collector;
  collector.kind = pki::CertKind::kCollector;
  collector.name = kCollectorName;
  auto collector_cert = issue_cert(pki_dir, collector);
  if (!collector_cert) return collector_cert.error();
  const std::string share_group = "aisle-collectors-" + crypto::random_hex(8);
  std::vector<std::pair<std::string, std::string>> recs_keys;
  for (const auto& address : acl.agents) {
    const std::string key = crypto::random_hex(32);
    recs_keys.emplace_back(address.store_id, key);
    if (auto s = write_text(recs_key_file(env, address.agent_id), key + "\n",
                            fs::perms::owner_read | fs::perms::owner_write);
        !s) {
      return s.error();
    }
  }
  if (auto s = write_json(env.collector_config,
                          collector_config(env, *collector_cert, ports->collector_http,
                                           share_group, recs_keys),
                          /*secret=*/true);
      !s) {
    return s.error();
  }
  for (const auto& [id, definition] : demo_segments()) {
    if (auto s = write_text(env.dir + "/segments/" + id + ".json", definition + "\n", text_perms);
        !s) {
      return s.error();
    }
  }

  // Agents: agent-<i> in store-<i>.
  for (int i = 1; i <= options.stores; ++i) {
    const auto& address = acl.agents[static_cast<std::size_t>(i - 1)];
    const int port = ports->agent_http[static_cast<std::size_t>(i - 1)];
    DevEnvAgent agent{address.store_id, address.agent_id, http_url(port),
                      env.dir + "/" + address.agent_id + ".json", std::nullopt};
    if (options.devices) {
      const auto& device_ports = ports->devices[static_cast<std::size_t>(i - 1)];
      const std::string files = env.dir + "/devices/" + agent.store_id;
      fs::create_directories(files, ec);
      if (ec) return make_error(ErrorCode::kIo, "cannot create " + files);
      agent.devices = sim::DeviceEndpoints{listen_on(device_ports[0]), listen_on(device_ports[1]),
                                           listen_on(device_ports[2]), files + "/rfid-reads.csv",
                                           files + "/weight-readings.csv", ""};
      // Odd stores' door counters hang on a serial line (a pseudo-terminal the simulator links
      // here), even stores' on TCP: the demo runs every transport kind the agent has but MQTT.
      if (i % 2 == 1) agent.devices->counter_serial = files + "/door-counter.tty";
    }
    pki::IssueOptions o;
    o.kind = pki::CertKind::kAgent;
    o.store_id = agent.store_id;
    o.agent_id = agent.agent_id;
    auto cert = issue_cert(pki_dir, o);
    if (!cert) return cert.error();
    if (auto s = write_json(agent.config,
                            agent_config(env, agent, *cert, port, catalog ? &*catalog : nullptr),
                            false);
        !s) {
      return s.error();
    }
    env.agents.push_back(std::move(agent));
  }

  // Last, so an interrupted init never looks complete.
  if (auto s = write_json(dir / "env.json", devenv_to_json(env), /*secret=*/true); !s) {
    return s.error();
  }
  return env;
}

}  // namespace aisle::ctl
