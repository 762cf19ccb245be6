#include "collector/privacy/consent_broadcaster.hpp"

#include "common/log.hpp"

namespace aisle::collector {
namespace {

const log::Logger kLog("collector.consent");

// A page never ends in the middle of one version's entries: the agent moves its version to
// to_version after applying a page, so a split version would lose the entries left behind.
std::size_t cut_at_version_boundary(const std::vector<wire::ConsentEntry>& entries) {
  std::size_t end = entries.size();
  const std::uint64_t last = entries.back().version;
  while (end > 0 && entries[end - 1].version == last) --end;
  return end == 0 ? entries.size() : end;  // one version bigger than a page goes whole
}

}  // namespace

ConsentBroadcaster::ConsentBroadcaster(ConsentBroadcastOptions options,
                                       ConsentChangesSince changes_since,
                                       CurrentConsentVersion current_version, Publish publish,
                                       metrics::Registry& metrics)
    : options_(std::move(options)),
      changes_since_(std::move(changes_since)),
      current_version_(std::move(current_version)),
      publish_(std::move(publish)),
      broadcasts_(metrics.counter("aisle_collector_consent_broadcasts_total",
                                  "Consent changes broadcast to agents")),
      broadcast_failures_(metrics.counter(
          "aisle_collector_consent_broadcast_failures_total",
          "Consent broadcasts that could not be published (agents heal by sync)")),
      sync_requests_(metrics.counter("aisle_collector_consent_sync_requests_total",
                                     "Consent sync requests answered")),
      sync_refused_(metrics.counter("aisle_collector_consent_sync_refused_total",
                                    "Unreadable consent sync requests")),
      sync_pages_(metrics.counter("aisle_collector_consent_sync_pages_total",
                                  "Consent sync answer pages published")) {
  if (options_.sync_page_entries == 0) options_.sync_page_entries = 1;
}

void ConsentBroadcaster::broadcast(const std::vector<std::string>& identities,
                                   const ConsentFlags& flags, UnixMillis decided_at,
                                   std::uint64_t version) {
  if (identities.empty() || version == 0) return;
  wire::ConsentUpdate update;
  update.from_version = version - 1;
  update.to_version = version;
  for (const auto& identity : identities) {
    update.entries.push_back({identity, flags, decided_at, version});
  }
  const std::string topic = wire::broadcast_topic(options_.tenant, "consent");
  if (auto status = publish_(topic, wire::encode_consent_update(update)); !status) {
    broadcast_failures_.inc();
    kLog.warn("cannot broadcast a consent change; agents will catch up by sync",
              {{"version", version}, {"error", status.error().message}});
    return;
  }
  broadcasts_.inc();
}

Result<std::vector<wire::ConsentUpdate>> ConsentBroadcaster::sync_pages(std::uint64_t since) const {
  std::vector<wire::ConsentUpdate> pages;
  std::uint64_t from = since;
  while (true) {
    // Read before the entries: a change numbered after this read is either among the entries
    // read below or broadcast later with a from_version the agent will have reached.
    const std::uint64_t current = current_version_();
    auto entries = changes_since_(from, options_.sync_page_entries);
    if (!entries) return entries.error();
    wire::ConsentUpdate page;
    page.from_version = from;
    if (entries->size() >= options_.sync_page_entries) {
      entries->resize(cut_at_version_boundary(*entries));
      page.to_version = entries->back().version;
      page.more = true;
    } else {
      page.to_version = std::max(current, entries->empty() ? from : entries->back().version);
      page.to_version = std::max(page.to_version, from);
    }
    page.entries = std::move(*entries);
    from = page.to_version;
    const bool more = page.more;
    pages.push_back(std::move(page));
    if (!more) break;
  }
  return pages;
}

void ConsentBroadcaster::answer_sync(const wire::AgentAddress& agent, std::string_view payload) {
  auto request = wire::decode_consent_sync(payload);
  if (!request) {
    sync_refused_.inc();
    kLog.warn("unreadable consent sync request",
              {{"store_id", agent.store_id}, {"agent_id", agent.agent_id},
               {"error", request.error().message}});
    return;
  }
  if (agent.tenant != options_.tenant) {
    sync_refused_.inc();
    kLog.warn("consent sync request for another tenant",
              {{"tenant", agent.tenant}, {"agent_id", agent.agent_id}});
    return;
  }
  sync_requests_.inc();
  auto pages = sync_pages(request->since_version);
  if (!pages) {
    kLog.error("cannot read consent changes for a sync; the agent will ask again",
               {{"agent_id", agent.agent_id}, {"error", pages.error().message}});
    return;
  }
  const std::string topic = wire::downlink_topic(agent, "consent");
  for (const auto& page : *pages) {
    if (auto status = publish_(topic, wire::encode_consent_update(page)); !status) {
      kLog.warn("cannot publish a consent sync page; the agent will ask again",
                {{"agent_id", agent.agent_id}, {"error", status.error().message}});
      return;
    }
    sync_pages_.inc();
  }
  kLog.info("consent sync answered",
            {{"store_id", agent.store_id}, {"agent_id", agent.agent_id},
             {"since", request->since_version}, {"pages", pages->size()},
             {"to_version", pages->back().to_version}});
}

}  // namespace aisle::collector
