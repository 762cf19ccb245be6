#include "collector/profiles/profile_service.hpp"

#include <algorithm>
#include <functional>
#include <chrono>
#include <limits>
#include <set>

#include "collector/profiles/profile_service_impl.hpp"
#include "collector/profiles/profile_store_schema.hpp"
#include "common/crypto.hpp"

namespace aisle::collector::profiles {
namespace {

using nlohmann::json;

const log::Logger kLog("collector.profiles");

constexpr int kCacheKiB = 32 * 1024;
constexpr std::int64_t kJournalSizeLimitBytes = 64LL * 1024 * 1024;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<SqliteDb> open_connection(const ProfileServiceOptions& options) {
  auto db = SqliteDb::open(options.path);
  if (!db) return db.error();
  db->set_busy_timeout(options.busy_timeout_ms);
  return db;
}

Result<SqliteDb> open_writer(const ProfileServiceOptions& options) {
  WalWriterSettings settings;
  settings.synchronous_full = options.synchronous_full;
  settings.journal_size_limit_bytes = kJournalSizeLimitBytes;
  settings.cache_kib = kCacheKiB;
  settings.busy_timeout_ms = options.busy_timeout_ms;
  settings.startup_check = options.corruption.startup_check;
  auto db = open_wal_writer(options.path, settings);
  if (!db) return db.error();
  if (auto status = migrate_profile_store_schema(*db); !status) return status.error();
  return db;
}

Result<std::string> read_meta(SqliteDb& db, const std::string& key) {
  auto stmt = db.cached("SELECT value FROM meta WHERE key = ?1");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_text(1, key);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  return *row ? std::string((*stmt)->column_text(0)) : std::string();
}

Status write_meta(SqliteDb& db, const std::string& key, const std::string& value) {
  auto stmt = db.cached(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
      "excluded.value");
  if (!stmt) return stmt.error();
  (*stmt)->bind_text(1, key);
  (*stmt)->bind_text(2, value);
  return (*stmt)->run();
}

Status load_tombstones(SqliteDb& db, std::unordered_set<std::string>& out) {
  auto stmt = db.prepare("SELECT digest FROM tombstones");
  if (!stmt) return stmt.error();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) return ok_status();
    out.emplace(stmt->column_text(0));
  }
}

std::uint32_t to_u32(std::int64_t v) {
  return v < 0 || v > std::numeric_limits<std::uint32_t>::max() ? kNoNode
                                                                : static_cast<std::uint32_t>(v);
}

}  // namespace

std::int64_t consent_bits(const ConsentFlags& flags) {
  return static_cast<std::int64_t>(flags.analytics) |
         (static_cast<std::int64_t>(flags.personalization) << 2) |
         (static_cast<std::int64_t>(flags.marketing) << 4);
}

ConsentState consent_state_of(std::int64_t value) {
  return value >= 0 && value <= 2 ? static_cast<ConsentState>(value) : ConsentState::kUnknown;
}

ConsentFlags consent_from_bits(std::int64_t bits) {
  ConsentFlags flags;
  flags.analytics = consent_state_of(bits & 3);
  flags.personalization = consent_state_of((bits >> 2) & 3);
  flags.marketing = consent_state_of((bits >> 4) & 3);
  return flags;
}

bool all_unknown(const ConsentFlags& flags) {
  return flags == ConsentFlags{};
}

Result<std::unique_ptr<IdentityGraph>> load_graph(SqliteDb& db, const IdentityRules& rules) {
  auto created = IdentityGraph::create(rules);
  if (!created) return created.error();
  std::unique_ptr<IdentityGraph> graph = std::move(*created);
  auto nodes = db.query_int64("SELECT count(*) FROM identities");
  auto bytes =
      db.query_int64("SELECT coalesce(sum(length(type) + length(value) + 1), 0) FROM identities");
  auto profiles = db.query_int64("SELECT count(*) FROM profiles");
  if (!nodes) return nodes.error();
  if (!bytes) return bytes.error();
  if (!profiles) return profiles.error();
  graph->reserve(static_cast<std::size_t>(*nodes), static_cast<std::size_t>(*bytes),
                 static_cast<std::size_t>(*profiles));

  auto stmt =
      db.prepare("SELECT node, type, value, parent, first_seen, last_seen, shared FROM identities");
  if (!stmt) return stmt.error();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::uint32_t node = to_u32(stmt->column_int64(0));
    const std::uint32_t parent = to_u32(stmt->column_int64(3));
    if (node == kNoNode || parent == kNoNode) {
      return make_error(ErrorCode::kDataLoss, "identities: node or parent out of range");
    }
    graph->load_node(node, stmt->column_text(1), stmt->column_text(2), parent,
                     stmt->column_int64(4), stmt->column_int64(5), stmt->column_int64(6) != 0);
  }
  stmt =
      db.prepare("SELECT slot, profile_id, root, coalesce(merged_into, -1), consent FROM profiles");
  if (!stmt) return stmt.error();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    auto id = Uuid::parse(stmt->column_text(1));
    const std::uint32_t slot = to_u32(stmt->column_int64(0));
    if (!id || slot == kNoProfile) {
      return make_error(ErrorCode::kDataLoss, "profiles: bad slot or profile_id '" +
                                                  std::string(stmt->column_text(1)) + "'");
    }
    const std::int64_t merged = stmt->column_int64(3);
    graph->load_profile(slot, *id, to_u32(stmt->column_int64(2)),
                        merged < 0 ? kNoProfile : to_u32(merged),
                        consent_from_bits(stmt->column_int64(4)));
  }
  stmt = db.prepare("SELECT node, user_node FROM shared_watch");
  if (!stmt) return stmt.error();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    graph->load_watch(to_u32(stmt->column_int64(0)), to_u32(stmt->column_int64(1)));
  }
  stmt = db.prepare("SELECT a, b FROM separations");
  if (!stmt) return stmt.error();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    graph->load_separation({to_u32(stmt->column_int64(0)), to_u32(stmt->column_int64(1))});
  }
  if (auto status = graph->finish_load(); !status) return status.error();
  return graph;
}

ProfileService::Impl::Impl(ProfileServiceOptions opts, ClockPtr clk, metrics::Registry& registry)
    : options(std::move(opts)),
      clock(std::move(clk)),
      events_attributed(registry.counter("aisle_collector_profile_events_total",
                                         "Events applied to profiles, by outcome",
                                         {{"outcome", "attributed"}})),
      events_unattributed(registry.counter("aisle_collector_profile_events_total",
                                           "Events applied to profiles, by outcome",
                                           {{"outcome", "unattributed"}})),
      events_discarded_erased(registry.counter("aisle_collector_profile_events_total",
                                               "Events applied to profiles, by outcome",
                                               {{"outcome", "discarded_erased"}})),
      merges(registry.counter("aisle_collector_profile_merges_total", "Profile merges")),
      refused_limit(registry.counter("aisle_collector_profile_links_refused_total",
                                     "Identity links refused, by reason", {{"reason", "limit"}})),
      refused_separated(registry.counter("aisle_collector_profile_links_refused_total",
                                         "Identity links refused, by reason",
                                         {{"reason", "separated"}})),
      marked_shared(registry.counter("aisle_collector_profile_identifiers_marked_shared_total",
                                     "Identifiers marked shared (shared-device protection)")),
      apply_failures(registry.counter("aisle_collector_profile_apply_failures_total",
                                      "apply() transactions that failed (graph reloaded)")),
      unmerges(registry.counter("aisle_collector_profile_unmerges_total", "Profile unmerges")),
      erasures(registry.counter("aisle_collector_profile_erasures_total", "Profiles erased")),
      identifiers_gauge(registry.gauge("aisle_collector_profile_identifiers",
                                       "Identifiers in the identity graph")),
      profiles_gauge(registry.gauge("aisle_collector_profile_profiles", "Live profiles")),
      graph_bytes_gauge(registry.gauge("aisle_collector_profile_graph_bytes",
                                       "Memory held by the in-memory identity graph")),
      consent_version_gauge(registry.gauge("aisle_collector_profile_consent_version",
                                           "The last global consent version assigned")),
      apply_seconds(registry.histogram("aisle_collector_profile_apply_seconds",
                                       "Duration of one apply() call (one transaction)",
                                       metrics::latency_buckets_seconds())) {}

std::string ProfileService::Impl::digest(std::string_view identity) const {
  return crypto::hmac_sha256_hex(tombstone_key, identity);
}

bool ProfileService::Impl::erased_locked(const Event& event) const {
  if (tombstones.empty()) return false;
  std::string key;
  for (const auto& [type, value] : event.identities) {
    key.assign(type).append(":").append(value);
    // A known identifier is not erased (erasing removes it from the graph).
    if (graph->node(key) != kNoNode) continue;
    if (tombstones.count(digest(key))) return true;
  }
  return false;
}

void ProfileService::Impl::update_gauges() {
  identifiers_gauge.set(static_cast<double>(graph->node_count()));
  profiles_gauge.set(static_cast<double>(graph->live_profiles()));
  graph_bytes_gauge.set(static_cast<double>(graph->memory_bytes()));
  consent_version_gauge.set(static_cast<double>(consent_version.load()));
}

Result<ProfileState> ProfileService::Impl::load_state(std::uint32_t slot) {
  auto stmt = writer.cached("SELECT state FROM profiles WHERE slot = ?1");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_int64(1, slot);
  auto row = (*stmt)->step();
  if (!row) return row.error();
  if (!*row) return ProfileState{};
  return profile_state_from_json((*stmt)->column_text(0));
}

Status ProfileService::Impl::store_state(std::uint32_t slot, const ProfileState& state) {
  auto stmt =
      writer.cached("UPDATE profiles SET state = ?2, root = ?3, consent = ?4 WHERE slot = ?1");
  if (!stmt) return stmt.error();
  const std::string text = dump(to_json(state));
  (*stmt)->bind_int64(1, slot);
  (*stmt)->bind_text(2, text);
  (*stmt)->bind_int64(3, graph->root_of_profile(slot));
  (*stmt)->bind_int64(4, consent_bits(consent_flags(state)));
  return (*stmt)->run();
}

Status ProfileService::Impl::add_history(std::uint32_t slot, UnixMillis at, const char* kind,
                                         const json& details, const std::string& dedup) {
  auto stmt = writer.cached(
      "INSERT OR IGNORE INTO history (slot, at, kind, details, dedup) VALUES (?1, ?2, ?3, ?4, "
      "nullif(?5, ''))");
  if (!stmt) return stmt.error();
  const std::string text = dump(details);
  (*stmt)->bind_int64(1, slot);
  (*stmt)->bind_int64(2, at);
  (*stmt)->bind_text(3, kind);
  (*stmt)->bind_text(4, text);
  (*stmt)->bind_text(5, dedup);
  return (*stmt)->run();
}

std::vector<std::string> ProfileService::Impl::identities_of(std::uint32_t slot) const {
  std::vector<std::string> out;
  for (std::uint32_t node : graph->members(slot)) out.emplace_back(graph->key(node));
  std::sort(out.begin(), out.end());
  return out;
}

Status ProfileService::Impl::store_consent_version() {
  return write_meta(writer, "consent_version", std::to_string(consent_version.load()));
}

Result<ConsentChange> ProfileService::Impl::record_consent(std::uint32_t slot, ProfileState& state,
                                                           PurposeMask changed) {
  const std::uint64_t version = consent_version.load() + 1;
  for (std::size_t p = 0; p < state.consent.size(); ++p) {
    if ((changed & (1u << p)) && state.consent[p].state != ConsentState::kUnknown) {
      state.consent[p].version = version;
    }
  }
  ConsentChange change;
  change.profile_id = graph->profile_id(slot);
  change.flags = consent_flags(state);
  change.decided_at = latest_decision(state);
  change.version = version;
  change.identities = identities_of(slot);
  auto stmt = writer.cached(
      "INSERT INTO consent_by_identity (identity, analytics, personalization, marketing, "
      "decided_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(identity) DO UPDATE SET "
      "analytics = excluded.analytics, personalization = excluded.personalization, marketing = "
      "excluded.marketing, decided_at = excluded.decided_at, version = excluded.version");
  if (!stmt) return stmt.error();
  for (const std::string& identity : change.identities) {
    (*stmt)->bind_text(1, identity);
    (*stmt)->bind_int64(2, static_cast<std::int64_t>(change.flags.analytics));
    (*stmt)->bind_int64(3, static_cast<std::int64_t>(change.flags.personalization));
    (*stmt)->bind_int64(4, static_cast<std::int64_t>(change.flags.marketing));
    (*stmt)->bind_int64(5, change.decided_at);
    (*stmt)->bind_int64(6, static_cast<std::int64_t>(version));
    if (auto status = (*stmt)->run(); !status) return status.error();
  }
  consent_version.store(version);
  return change;
}

Status ProfileService::Impl::write_nodes(const std::vector<std::uint32_t>& nodes) {
  auto node_stmt = writer.cached(
      "INSERT INTO identities (node, type, value, parent, first_seen, last_seen, shared) VALUES "
      "(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(node) DO UPDATE SET parent = excluded.parent, "
      "first_seen = excluded.first_seen, last_seen = excluded.last_seen, shared = "
      "excluded.shared");
  if (!node_stmt) return node_stmt.error();
  for (std::uint32_t node : nodes) {
    const NodeView v = graph->view(node);
    if (v.key.empty()) continue;  // erased since
    SqliteStatement& s = **node_stmt;
    s.bind_int64(1, node);
    s.bind_text(2, v.type);
    s.bind_text(3, v.value);
    s.bind_int64(4, graph->parent_of(node));
    s.bind_int64(5, v.first_seen);
    s.bind_int64(6, v.last_seen);
    s.bind_int64(7, v.shared ? 1 : 0);
    if (auto status = s.run(); !status) return status;
  }
  return ok_status();
}

Status ProfileService::Impl::flush_seen(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (dirty_seen.empty()) return ok_status();
  if (!force && now - last_seen_flush < std::chrono::milliseconds(options.seen_flush_interval_ms)) {
    return ok_status();
  }
  std::vector<std::uint32_t> nodes(dirty_seen.begin(), dirty_seen.end());
  std::sort(nodes.begin(), nodes.end());
  if (auto status = write_nodes(nodes); !status) return status;
  dirty_seen.clear();
  last_seen_flush = now;
  return ok_status();
}

Status ProfileService::Impl::persist(const GraphChanges& changes, UnixMillis now,
                                     const std::string& actor) {
  std::vector<std::uint32_t> touched = changes.touched_nodes;
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  if (auto status = write_nodes(touched); !status) return status;
  for (std::uint32_t node : touched) dirty_seen.erase(node);
  dirty_seen.insert(changes.seen_nodes.begin(), changes.seen_nodes.end());
  for (std::uint32_t node : touched) dirty_seen.erase(node);
  if (auto status = flush_seen(false); !status) return status;
  auto profile_stmt = writer.cached(
      "INSERT INTO profiles (slot, profile_id, root, merged_into, created_at) VALUES (?1, ?2, ?3, "
      "NULL, ?4)");
  if (!profile_stmt) return profile_stmt.error();
  for (std::uint32_t slot : changes.new_profiles) {
    const std::string id = graph->profile_id(slot);
    const std::uint32_t root = graph->root_of_profile(graph->live_profile(slot));
    (*profile_stmt)->bind_int64(1, slot);
    (*profile_stmt)->bind_text(2, id);
    (*profile_stmt)->bind_int64(3, root == kNoNode ? 0 : root);
    (*profile_stmt)->bind_int64(4, now);
    if (auto status = (*profile_stmt)->run(); !status) return status;
  }
  if (!changes.watch_added.empty()) {
    auto stmt =
        writer.cached("INSERT OR IGNORE INTO shared_watch (node, user_node) VALUES (?1, ?2)");
    if (!stmt) return stmt.error();
    for (const auto& [node, user] : changes.watch_added) {
      (*stmt)->bind_int64(1, node);
      (*stmt)->bind_int64(2, user);
      if (auto status = (*stmt)->run(); !status) return status;
    }
  }
  if (!changes.marked_shared.empty()) {
    auto stmt = writer.cached("DELETE FROM shared_watch WHERE node = ?1");
    if (!stmt) return stmt.error();
    for (std::uint32_t node : changes.marked_shared) {
      (*stmt)->bind_int64(1, node);
      if (auto status = (*stmt)->run(); !status) return status;
    }
  }
  if (!changes.separations_added.empty()) {
    auto stmt =
        writer.cached("INSERT INTO separations (a, b, created_at, actor) VALUES (?1, ?2, ?3, ?4)");
    if (!stmt) return stmt.error();
    for (const Separation& s : changes.separations_added) {
      (*stmt)->bind_int64(1, s.a);
      (*stmt)->bind_int64(2, s.b);
      (*stmt)->bind_int64(3, now);
      (*stmt)->bind_text(4, actor);
      if (auto status = (*stmt)->run(); !status) return status;
    }
  }
  return ok_status();
}

void ProfileService::Impl::reload_after_failure(const Error& error, const char* what) {
  apply_failures.inc();
  kLog.warn("profile transaction failed; reloading the identity graph from the database",
            {{"what", what}, {"error", error.message}});
  auto reloaded = load_graph(writer, options.rules);
  std::unordered_set<std::string> stones;
  auto status = load_tombstones(writer, stones);
  auto version = read_meta(writer, "consent_version");
  std::unique_lock lock(graph_mutex);
  dirty_seen.clear();
  if (reloaded && status && version) {
    graph = std::move(*reloaded);
    tombstones = std::move(stones);
    consent_version.store(version->empty() ? 0 : std::stoull(*version));
  } else {
    // The database cannot be read either: keep the in-memory graph (it may hold links the
    // database lost); the next successful apply() persists what it touches.
    kLog.error("reloading the identity graph failed; continuing with the in-memory graph",
               {{"error", !reloaded ? reloaded.error().message
                          : !status ? status.error().message
                                    : version.error().message}});
  }
}

// --- lifecycle

ProfileService::ProfileService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProfileService::~ProfileService() {
  if (!impl_) return;
  Impl& d = *impl_;
  std::lock_guard write_lock(d.write_mutex);
  if (d.dirty_seen.empty()) return;
  Status status = d.writer.exec("BEGIN IMMEDIATE");
  if (status) status = d.flush_seen(true);
  if (status) status = d.writer.exec("COMMIT");
  if (!status) {
    d.writer.rollback_quietly();
    kLog.warn("profile store: seen times not written at close",
              {{"identifiers", d.dirty_seen.size()}, {"error", status.error().message}});
  }
}

Result<std::unique_ptr<ProfileService>> ProfileService::open(ProfileServiceOptions options,
                                                             ClockPtr clock,
                                                             metrics::Registry& metrics) {
  if (options.path.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "profile store: path is empty");
  }
  if (auto valid = options.rules.validate(); !valid) return valid.error();
  const CorruptStoreReport report{"profiles", "aisle_collector_store_corrupt_total", &metrics,
                                  &kLog, clock};
  const std::function<Result<std::unique_ptr<ProfileService>>()> attempt = [&] {
    return open_once(options, clock, metrics);
  };
  return open_or_move_aside(options.path, options.corruption, report, attempt);
}

Result<std::unique_ptr<ProfileService>> ProfileService::open_once(ProfileServiceOptions options,
                                                                  ClockPtr clock,
                                                                  metrics::Registry& metrics) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(clock), metrics);
  auto writer = open_writer(impl->options);
  if (!writer) return writer.error();
  impl->writer = std::move(*writer);

  auto key = read_meta(impl->writer, "tombstone_key");
  if (!key) return key.error();
  if (!impl->options.tombstone_key.empty()) {
    impl->tombstone_key = impl->options.tombstone_key;
  } else if (!key->empty()) {
    impl->tombstone_key = *key;
  } else {
    impl->tombstone_key = crypto::random_hex(32);
    if (auto status = write_meta(impl->writer, "tombstone_key", impl->tombstone_key); !status) {
      return status.error();
    }
  }
  auto version = read_meta(impl->writer, "consent_version");
  if (!version) return version.error();
  if (!version->empty()) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(version->c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
      return make_error(ErrorCode::kDataLoss,
                        "profile store: meta consent_version '" + *version + "' is not a number");
    }
    impl->consent_version.store(v);
  }
  if (auto status = load_tombstones(impl->writer, impl->tombstones); !status) {
    return status.error();
  }
  const auto started = std::chrono::steady_clock::now();
  auto graph = load_graph(impl->writer, impl->options.rules);
  if (!graph) return graph.error();
  impl->graph = std::move(*graph);

  std::vector<SqliteDb> readers;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, impl->options.read_connections); ++i) {
    auto db = open_connection(impl->options);
    if (!db) return db.error();
    if (auto status = db->exec("PRAGMA query_only = 1"); !status) return status.error();
    readers.push_back(std::move(*db));
  }
  impl->readers = std::make_unique<SqliteReadPool>(std::move(readers));
  impl->update_gauges();
  kLog.info("profile store open",
            {{"path", impl->options.path},
             {"identifiers", impl->graph->node_count()},
             {"profiles", impl->graph->live_profiles()},
             {"graph_bytes", impl->graph->memory_bytes()},
             {"consent_version", impl->consent_version.load()},
             {"load_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count()}});
  return std::unique_ptr<ProfileService>(new ProfileService(std::move(impl)));
}

// --- reads

bool ProfileService::is_erased(std::string_view type, std::string_view value) const {
  std::shared_lock lock(impl_->graph_mutex);
  if (impl_->tombstones.empty() || impl_->graph->node(type, value) != kNoNode) return false;
  std::string key(type);
  key.append(":").append(value);
  return impl_->tombstones.count(impl_->digest(key)) > 0;
}

std::optional<std::string> ProfileService::lookup(std::string_view type,
                                                  std::string_view value) const {
  std::shared_lock lock(impl_->graph_mutex);
  const std::uint32_t slot = impl_->graph->profile_of(impl_->graph->node(type, value));
  if (slot == kNoProfile) return std::nullopt;
  return impl_->graph->profile_id(slot);
}

std::optional<ConsentFlags> ProfileService::consent_of(std::string_view type,
                                                       std::string_view value) const {
  std::shared_lock lock(impl_->graph_mutex);
  const std::uint32_t slot = impl_->graph->profile_of(impl_->graph->node(type, value));
  if (slot == kNoProfile) return std::nullopt;
  return impl_->graph->consent(slot);
}

std::optional<ConsentFlags> ProfileService::consent_of_profile(std::string_view profile_id) const {
  std::shared_lock lock(impl_->graph_mutex);
  const IdentityGraph& g = *impl_->graph;
  const std::uint32_t slot = g.live_profile(g.slot_of(profile_id));
  if (slot == kNoProfile) return std::nullopt;
  return g.consent(slot);
}

std::uint64_t ProfileService::consent_version() const {
  return impl_->consent_version.load();
}

std::size_t ProfileService::identifier_count() const {
  std::shared_lock lock(impl_->graph_mutex);
  return impl_->graph->node_count();
}

std::size_t ProfileService::profile_count() const {
  std::shared_lock lock(impl_->graph_mutex);
  return impl_->graph->live_profiles();
}

std::size_t ProfileService::graph_memory_bytes() const {
  std::shared_lock lock(impl_->graph_mutex);
  return impl_->graph->memory_bytes();
}

Result<std::optional<ProfileView>> ProfileService::get(const std::string& profile_id) const {
  return get(profile_id, impl_->options.history_limit);
}

Result<std::optional<ProfileView>> ProfileService::get(const std::string& profile_id,
                                                       std::size_t history_limit) const {
  ProfileView view;
  std::uint32_t slot = kNoProfile;
  {
    std::shared_lock lock(impl_->graph_mutex);
    const IdentityGraph& g = *impl_->graph;
    slot = g.live_profile(g.slot_of(profile_id));
    if (slot == kNoProfile) return std::optional<ProfileView>();
    view.profile_id = g.profile_id(slot);
    for (std::uint32_t node : g.members(slot)) {
      const NodeView v = g.view(node);
      view.identifiers.push_back(
          {std::string(v.type), std::string(v.value), v.first_seen, v.last_seen, v.shared});
    }
  }
  std::sort(view.identifiers.begin(), view.identifiers.end(),
            [](const IdentifierInfo& a, const IdentifierInfo& b) {
              return std::tie(a.type, a.value) < std::tie(b.type, b.value);
            });
  auto lease = impl_->readers->acquire();
  SqliteDb& db = lease.db();
  auto stmt = db.cached("SELECT created_at, state FROM profiles WHERE slot = ?1");
  if (!stmt) return stmt.error();
  {
    ResetGuard guard(**stmt);
    (*stmt)->bind_int64(1, slot);
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (*row) {
      view.created_at = (*stmt)->column_int64(0);
      auto state = profile_state_from_json((*stmt)->column_text(1));
      if (!state) return state.error();
      view.state = std::move(*state);
    }
  }
  auto history = db.cached(
      "SELECT id, at, kind, details FROM history WHERE slot = ?1 ORDER BY id DESC LIMIT ?2");
  if (!history) return history.error();
  ResetGuard guard(**history);
  (*history)->bind_int64(1, slot);
  (*history)->bind_int64(2, static_cast<std::int64_t>(std::min<std::size_t>(
                                history_limit, std::numeric_limits<std::int64_t>::max())));
  for (;;) {
    auto row = (*history)->step();
    if (!row) return row.error();
    if (!*row) break;
    HistoryEntry entry;
    entry.id = (*history)->column_int64(0);
    entry.at = (*history)->column_int64(1);
    entry.kind = (*history)->column_text(2);
    entry.details = json::parse((*history)->column_text(3), nullptr, false);
    view.history.push_back(std::move(entry));
  }
  return std::optional<ProfileView>(std::move(view));
}

Result<std::vector<std::string>> ProfileService::event_ids(const std::string& profile_id,
                                                           std::size_t limit,
                                                           std::string_view after_cursor) const {
  std::uint32_t slot = kNoProfile;
  {
    std::shared_lock lock(impl_->graph_mutex);
    slot = impl_->graph->live_profile(impl_->graph->slot_of(profile_id));
  }
  if (slot == kNoProfile) {
    return make_error(ErrorCode::kNotFound, "no profile " + profile_id);
  }
  auto lease = impl_->readers->acquire();
  SqliteDb& db = lease.db();
  std::int64_t before = std::numeric_limits<std::int64_t>::max();
  if (!after_cursor.empty()) {
    auto cursor = db.cached("SELECT row FROM profile_events WHERE slot = ?1 AND event_id = ?2");
    if (!cursor) return cursor.error();
    ResetGuard guard(**cursor);
    (*cursor)->bind_int64(1, slot);
    (*cursor)->bind_text(2, after_cursor);
    auto row = (*cursor)->step();
    if (!row) return row.error();
    if (!*row) {
      return make_error(ErrorCode::kInvalidArgument,
                        "cursor '" + std::string(after_cursor.substr(0, 64)) +
                            "' is not an event of profile " + profile_id);
    }
    before = (*cursor)->column_int64(0);
  }
  auto stmt = db.cached(
      "SELECT event_id FROM profile_events WHERE slot = ?1 AND row < ?2 ORDER BY row DESC LIMIT "
      "?3");
  if (!stmt) return stmt.error();
  ResetGuard guard(**stmt);
  (*stmt)->bind_int64(1, slot);
  (*stmt)->bind_int64(2, before);
  (*stmt)->bind_int64(3, static_cast<std::int64_t>(std::min<std::size_t>(
                             limit, std::numeric_limits<std::int32_t>::max())));
  std::vector<std::string> ids;
  for (;;) {
    auto row = (*stmt)->step();
    if (!row) return row.error();
    if (!*row) return ids;
    ids.emplace_back((*stmt)->column_text(0));
  }
}

Result<std::vector<wire::ConsentEntry>> ProfileService::consent_changes_since(
    std::uint64_t version, std::size_t limit) const {
  auto lease = impl_->readers->acquire();
  SqliteDb& db = lease.db();
  std::vector<wire::ConsentEntry> entries;
  auto read = [&entries](SqliteStatement& s) -> Status {
    for (;;) {
      auto row = s.step();
      if (!row) return row.error();
      if (!*row) return ok_status();
      wire::ConsentEntry e;
      e.identity = s.column_text(0);
      e.flags.analytics = consent_state_of(s.column_int64(1));
      e.flags.personalization = consent_state_of(s.column_int64(2));
      e.flags.marketing = consent_state_of(s.column_int64(3));
      e.decided_at = s.column_int64(4);
      e.version = static_cast<std::uint64_t>(s.column_int64(5));
      entries.push_back(std::move(e));
    }
  };
  const std::int64_t from = static_cast<std::int64_t>(
      std::min<std::uint64_t>(version, std::numeric_limits<std::int64_t>::max()));
  {
    auto stmt = db.cached(
        "SELECT identity, analytics, personalization, marketing, decided_at, version FROM "
        "consent_by_identity WHERE version > ?1 ORDER BY version, identity LIMIT ?2");
    if (!stmt) return stmt.error();
    ResetGuard guard(**stmt);
    (*stmt)->bind_int64(1, from);
    (*stmt)->bind_int64(2, static_cast<std::int64_t>(std::min<std::size_t>(
                               limit, std::numeric_limits<std::int32_t>::max())));
    if (auto status = read(**stmt); !status) return status.error();
  }
  if (limit > 0 && entries.size() == limit) {
    // Finish the last version, so a page never ends inside one change.
    const std::string last_identity = entries.back().identity;
    const auto last_version = static_cast<std::int64_t>(entries.back().version);
    auto stmt = db.cached(
        "SELECT identity, analytics, personalization, marketing, decided_at, version FROM "
        "consent_by_identity WHERE version = ?1 AND identity > ?2 ORDER BY identity");
    if (!stmt) return stmt.error();
    ResetGuard guard(**stmt);
    (*stmt)->bind_int64(1, last_version);
    (*stmt)->bind_text(2, last_identity);
    if (auto status = read(**stmt); !status) return status.error();
  }
  return entries;
}

}  // namespace aisle::collector::profiles
