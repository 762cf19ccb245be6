#include "collector/privacy/privacy_stack.hpp"

#include "common/event_json.hpp"
#include "common/event_validator.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/pki/receipt_signing.hpp"
#include "common/wire/privacy.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.privacy");

nlohmann::json flags_json(const ConsentFlags& f) {
  return {{"analytics", consent_state_name(f.analytics)},
          {"personalization", consent_state_name(f.personalization)},
          {"marketing", consent_state_name(f.marketing)}};
}

}  // namespace

Result<std::unique_ptr<PrivacyStack>> PrivacyStack::open(const CollectorConfig& config,
                                                         EventStore& store,
                                                         StreamTracker& tracker, Publish publish,
                                                         ClockPtr clock,
                                                         metrics::Registry& metrics) {
  std::unique_ptr<PrivacyStack> s(new PrivacyStack());
  s->tenant_ = config.tenant;
  s->store_ = &store;
  s->audit_failures_ = &metrics.counter("aisle_collector_audit_failures_total",
                                        "Audit records that could not be appended");

  auto audit = AuditLog::open(config.audit_path, clock, metrics);
  if (!audit) {
    return make_error(audit.error().code,
                      "audit log " + config.audit_path + ": " + audit.error().message);
  }
  s->audit_ = std::move(*audit);

  profiles::ProfileServiceOptions options;
  options.path = config.profiles.path;
  options.rules = config.profiles.rules;
  options.last_events = config.profiles.last_events;
  options.history_limit = config.profiles.history_limit;
  options.max_unmerge_events = config.profiles.max_unmerge_events;
  options.synchronous_full = config.profiles.synchronous_full;
  options.corruption = config.profiles.corruption;
  auto profiles = profiles::ProfileService::open(options, clock, metrics);
  if (!profiles) {
    return make_error(profiles.error().code,
                      "profiles " + config.profiles.path + ": " + profiles.error().message);
  }
  s->profiles_ = std::move(*profiles);
  profiles::ProfileService* svc = s->profiles_.get();

  s->broadcaster_ = std::make_unique<ConsentBroadcaster>(
      ConsentBroadcastOptions{config.tenant, config.privacy.consent_sync_page},
      [svc](std::uint64_t since, std::size_t limit) {
        return svc->consent_changes_since(since, limit);
      },
      [svc] { return svc->consent_version(); }, publish, metrics);

  PrivacyStack* self = s.get();
  s->hooks_ = std::make_unique<PrivacyHooks>(
      config.privacy.policy,
      IdentityLookups{
          [svc](std::string_view t, std::string_view v) { return svc->is_erased(t, v); },
          [svc](std::string_view t, std::string_view v) { return svc->consent_of(t, v); }},
      [self](std::vector<Event>&& stored) { self->feed(std::move(stored)); }, metrics);

  ErasureDependencies deps;
  deps.erase_profile = [svc, self](const std::string& id,
                                   const std::string& actor) -> Result<ErasedSubject> {
    auto erased = svc->erase(id, actor);
    if (!erased) return erased.error();
    for (auto* listener : self->listeners_) listener->on_erase(*erased);
    return ErasedSubject{erased->profile_id, std::move(erased->identities),
                         std::move(erased->event_ids)};
  };
  deps.delete_events = [&store](const std::vector<std::string>& ids) {
    return store.delete_events(ids);
  };
  deps.known_agents = [&tracker, tenant = config.tenant] {
    std::vector<wire::AgentAddress> agents;
    for (const auto& a : tracker.agents()) agents.push_back({tenant, a.store_id, a.agent_id});
    return agents;
  };
  deps.publish = publish;
  deps.verify_receipt = [ca = config.privacy.fleet_ca_file,
                         crl = config.privacy.fleet_crl_file](const wire::ErasureReceipt& r) {
    return pki::verify_receipt(r, ca, crl);
  };
  deps.audit = [self](const std::string& actor, const std::string& action,
                      const std::string& target, const nlohmann::json& details) {
    self->audit_record(actor, action, target, details);
  };
  auto erasures = ErasureService::open(
      ErasureOptions{config.privacy.erasures_path, config.tenant,
                     config.privacy.erasure_rebroadcast},
      std::move(deps), clock, metrics);
  if (!erasures) {
    return make_error(erasures.error().code, "erasures " + config.privacy.erasures_path + ": " +
                                                 erasures.error().message);
  }
  s->erasures_ = std::move(*erasures);
  return s;
}

PrivacyStack::~PrivacyStack() { stop(); }

void PrivacyStack::start() {
  hooks_->start();
  erasures_->start();
}
// After the ingest pipeline stopped: what was committed is fed to profiles before the end.
void PrivacyStack::stop() {
  if (hooks_) hooks_->stop();
  if (erasures_) erasures_->stop();
}

bool PrivacyStack::on_uplink(const std::string& topic, std::string_view payload) {
  auto uplink = wire::parse_uplink_topic(topic);
  if (!uplink) return false;
  if (uplink->kind == "consent_sync") {
    broadcaster_->answer_sync(uplink->agent, payload);
    return true;
  }
  if (uplink->kind == "erasure_receipt") {
    erasures_->on_receipt(uplink->agent, payload);
    return true;
  }
  return false;
}

void PrivacyStack::audit_record(const std::string& actor, const std::string& action,
                                const std::string& target, const nlohmann::json& details) {
  if (auto status = audit_->append(actor, action, target, details); !status) {
    audit_failures_->inc();
    kLog.error("cannot append to the audit log",
               {{"action", action}, {"target", target}, {"error", status.error().message}});
  }
}

void PrivacyStack::publish_consent_change(const profiles::ConsentChange& change,
                                          const std::string& actor) {
  if (!change.changed) return;
  broadcaster_->broadcast(change.identities, change.flags, change.decided_at, change.version);
  audit_record(actor, "consent_changed", "profile:" + change.profile_id,
               {{"consent", flags_json(change.flags)},
                {"version", change.version},
                {"identifiers", change.identities.size()}});
}

void PrivacyStack::feed(std::vector<Event>&& stored) {
  std::vector<const Event*> events;
  events.reserve(stored.size());
  for (const auto& e : stored) events.push_back(&e);
  auto applied = profiles_->apply(events);
  if (!applied) {
    // The events are stored; only their effect on profiles is missing. Loud, and counted by
    // the service (aisle_collector_profile_apply_failures_total).
    kLog.error("identity resolution failed for stored events",
               {{"events", stored.size()}, {"error", applied.error().message}});
    return;
  }
  for (const auto& merge : applied->merges) {
    audit_record("collector", "profile_merged", "profile:" + merge.into,
                 {{"from", merge.from}, {"into", merge.into}, {"by", merge.reason_identity}});
    for (auto* listener : listeners_) listener->on_merge(merge);
  }
  if (!listeners_.empty()) {
    std::vector<profiles::ProfiledEvent> profiled;
    profiled.reserve(stored.size());
    for (std::size_t i = 0; i < stored.size(); ++i) {
      const bool erased = i < applied->discarded_erased.size() && applied->discarded_erased[i];
      if (erased) continue;
      profiled.push_back({&stored[i], i < applied->profile_ids.size() ? applied->profile_ids[i]
                                                                      : std::string()});
    }
    for (auto* listener : listeners_) listener->on_events(profiled);
  }
  for (const auto& change : applied->consent_changes) publish_consent_change(change, "collector");
  // An erasure that raced with this batch (requested between the policy check and the commit):
  // the event was stored but must not stay.
  std::vector<std::string> late;
  for (std::size_t i = 0; i < applied->discarded_erased.size(); ++i) {
    if (applied->discarded_erased[i]) late.push_back(stored[i].event_id);
  }
  if (!late.empty()) {
    if (auto deleted = store_->delete_events(late); !deleted) {
      kLog.error("cannot delete events of an erased identity",
                 {{"events", late.size()}, {"error", deleted.error().message}});
    }
  }
}

}  // namespace aisle::collector
