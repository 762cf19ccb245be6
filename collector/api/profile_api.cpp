#include "collector/api/profile_api.hpp"

#include <charconv>
#include <limits>
#include <memory>

#include "common/event_json.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/time_format.hpp"

namespace aisle::collector {
namespace {

using nlohmann::json;
using profiles::ProfileView;

const log::Logger kLog("collector.profile_api");

constexpr const char* kIdPattern = "([0-9a-fA-F-]{36})";
constexpr std::size_t kDefaultPageEvents = 50;
const JsonLimits kBodyLimits{256 * 1024, 8};
constexpr std::size_t kMaxUnmergeIdentifiers = 1000;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string time_text(UnixMillis ms) {
  return ms ? format_rfc3339_ms(ms) : "";
}

json consent_json(const profiles::PurposeConsent& c) {
  json j = {{"state", consent_state_name(c.state)}};
  if (c.state != ConsentState::kUnknown) {
    j["decided_at"] = time_text(c.decided_at);
    j["version"] = c.version;
    j["source"] = c.source;
  }
  return j;
}

json view_json(const ProfileView& v) {
  json identifiers = json::array();
  for (const auto& i : v.identifiers) {
    identifiers.push_back({{"type", i.type},
                           {"value", i.value},
                           {"first_seen", time_text(i.first_seen)},
                           {"last_seen", time_text(i.last_seen)},
                           {"shared", i.shared}});
  }
  json traits = json::object();
  for (const auto& [key, t] : v.state.traits) {
    traits[key] = {{"value", t.value}, {"updated_at", time_text(t.at)}};
  }
  json consent = json::object();
  for (std::size_t p = 0; p < profiles::kPurposeNames.size(); ++p) {
    consent[profiles::kPurposeNames[p]] = consent_json(v.state.consent[p]);
  }
  const auto& c = v.state.counters;
  json spend = json::object();
  for (const auto& [currency, micros] : c.spend_micros) {
    spend[currency] = static_cast<double>(micros) / 1e6;
  }
  json counters = {{"events", c.events},
                   {"by_type", c.by_type},
                   {"purchases", c.purchases},
                   {"spend", std::move(spend)},
                   {"first_seen", time_text(c.first_seen)},
                   {"last_seen", time_text(c.last_seen)},
                   {"stores", c.stores},
                   {"channels", c.channels}};
  json last = json::array();
  for (const auto& e : v.state.last_events) {
    last.push_back(
        {{"event_id", e.event_id}, {"type", e.type}, {"occurred_at", time_text(e.occurred_at)}});
  }
  json history = json::array();
  for (const auto& h : v.history) {
    history.push_back(
        {{"id", h.id}, {"at", time_text(h.at)}, {"kind", h.kind}, {"details", h.details}});
  }
  return {{"profile_id", v.profile_id},
          {"created_at", time_text(v.created_at)},
          {"identifiers", std::move(identifiers)},
          {"traits", std::move(traits)},
          {"consent", std::move(consent)},
          {"counters", std::move(counters)},
          {"last_events", std::move(last)},
          {"history", std::move(history)}};
}

json stored_event_json(const StoredEvent& e) {
  return {{"event_id", e.event_id},
          {"type", e.type},
          {"store_id", e.store_id},
          {"channel", e.channel},
          {"occurred_at", time_text(e.occurred_at)},
          {"ingested_at", time_text(e.ingested_at)},
          {"event", json::parse(e.payload, nullptr, false)}};
}

json change_json(const profiles::ConsentChange& c) {
  return {{"profile_id", c.profile_id},
          {"analytics", consent_state_name(c.flags.analytics)},
          {"personalization", consent_state_name(c.flags.personalization)},
          {"marketing", consent_state_name(c.flags.marketing)},
          {"decided_at", time_text(c.decided_at)},
          {"version", c.version},
          {"changed", c.changed}};
}

// The answer for a failed service or store call: the caller's mistake (4xx) or ours (503).
http::Response error_answer(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument: return http::Response::error(400, error.message);
    case ErrorCode::kNotFound: return http::Response::error(404, error.message);
    case ErrorCode::kResourceExhausted: return http::Response::error(422, error.message);
    default: return http::Response::error(503, "profile store unavailable: " + error.message);
  }
}

bool parse_limit(const std::string& text, std::size_t& out) {
  if (text.empty()) return true;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

struct Shared {
  ProfileApiContext ctx;
  metrics::Counter& bad_requests;
  http::Response bad_request(const std::string& message) {
    bad_requests.inc();
    return http::Response::error(400, message);
  }
};

// Loads stored events for an unmerge; ids the store no longer has (retention) are skipped.
profiles::EventLoader loader(const std::shared_ptr<Shared>& s) {
  return [s](const std::vector<std::string>& ids) -> Result<std::vector<Event>> {
    std::vector<Event> events;
    EventDecodeOptions options;
    options.custom_identity_types = &s->ctx.custom_identity_types;
    for (const auto& id : ids) {
      auto stored = s->ctx.store.get_event(id);
      if (!stored) return stored.error();
      if (!*stored) continue;
      json payload = json::parse((*stored)->payload, nullptr, false);
      Event event;
      std::vector<schema::ValidationError> errors;
      if (payload.is_discarded() || !decode_event(std::move(payload), event, errors, options)) {
        return make_error(ErrorCode::kDataLoss,
                          "stored event " + id + " cannot be decoded for the recomputation");
      }
      events.push_back(std::move(event));
    }
    return events;
  };
}

}  // namespace

void register_profile_api(http::HttpServer& server, ProfileApiContext context) {
  auto& bad = context.metrics.counter("aisle_collector_profile_api_bad_requests_total",
                                      "Profile API requests refused as malformed");
  auto s = std::make_shared<Shared>(Shared{std::move(context), bad});
  auto unauthorized = [] {
    auto r = http::Response::error(401, "missing or invalid API key");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  };
  auto view_answer = [s](const std::string& profile_id) {
    auto view = s->ctx.profiles.get(profile_id);
    if (!view) return error_answer(view.error());
    if (!*view) return http::Response::error(404, "no profile " + profile_id);
    json body = view_json(**view);
    // Segments the profile is in, with entered_at (the segment engine's view, when configured).
    body["segments"] = s->ctx.segments_of ? s->ctx.segments_of((*view)->profile_id) : json::array();
    return http::Response::json(200, dump(body));
  };

  server.get(std::string("/v1/profiles/") + kIdPattern, "/v1/profiles/{id}",
             [s, unauthorized, view_answer](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               return view_answer(r.path_params[0]);
             });

  server.get("/v1/profiles", "/v1/profiles",
             [s, unauthorized, view_answer](const http::Request& r) {
               if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
               const std::string identity = r.param("identity");
               std::string_view type;
               std::string_view value;
               if (!profiles::split_identity(identity, type, value)) {
                 return s->bad_request("query parameter identity must be <type>:<value>");
               }
               auto id = s->ctx.profiles.lookup(type, value);
               if (!id) return http::Response::error(404, "no profile has identifier " + identity);
               return view_answer(*id);
             });

  server.get(
      std::string("/v1/profiles/") + kIdPattern + "/events", "/v1/profiles/{id}/events",
      [s, unauthorized](const http::Request& r) {
        if (!s->ctx.keys.authenticate_admin(r, "read")) return unauthorized();
        std::size_t limit = kDefaultPageEvents;
        if (!parse_limit(r.param("limit"), limit) || limit == 0 || limit > s->ctx.max_page_events) {
          return s->bad_request("limit must be an integer 1.." +
                                std::to_string(s->ctx.max_page_events));
        }
        const std::string cursor = r.param("cursor");
        auto ids = s->ctx.profiles.event_ids(r.path_params[0], limit, cursor);
        if (!ids) {
          if (ids.error().code == ErrorCode::kInvalidArgument) {
            return s->bad_request(ids.error().message);
          }
          return error_answer(ids.error());
        }
        json events = json::array();
        for (const auto& id : *ids) {
          auto stored = s->ctx.store.get_event(id);
          if (!stored) return error_answer(stored.error());
          if (*stored) events.push_back(stored_event_json(**stored));
        }
        json body = {{"profile_id", r.path_params[0]}, {"events", std::move(events)}};
        if (ids->size() == limit) body["next_cursor"] = ids->back();
        return http::Response::json(200, dump(body));
      });

  server.post(
      std::string("/v1/profiles/") + kIdPattern + "/unmerge", "/v1/profiles/{id}/unmerge",
      [s, unauthorized](const http::Request& r) {
        auto key = s->ctx.keys.authenticate_admin(r, "admin");
        if (!key) return unauthorized();
        auto body = parse_json(r.body, kBodyLimits);
        if (!body) return s->bad_request("body: " + body.error().message);
        if (!body->is_object() || !body->contains("identifiers") ||
            !(*body)["identifiers"].is_array()) {
          return s->bad_request("body must be {\"identifiers\": [\"type:value\", ...]}");
        }
        const json& list = (*body)["identifiers"];
        if (list.empty() || list.size() > kMaxUnmergeIdentifiers) {
          return s->bad_request("identifiers: 1.." + std::to_string(kMaxUnmergeIdentifiers) +
                                " entries");
        }
        std::vector<std::string> identities;
        for (std::size_t i = 0; i < list.size(); ++i) {
          if (!list[i].is_string()) {
            return s->bad_request("identifiers[" + std::to_string(i) + "] must be a string");
          }
          identities.push_back(list[i].get<std::string>());
        }
        const std::string target = r.path_params[0];
        auto result = s->ctx.profiles.unmerge(target, identities, key->name, loader(s));
        if (!result) {
          if (result.error().code == ErrorCode::kInvalidArgument) {
            return s->bad_request(result.error().message);
          }
          return error_answer(result.error());
        }
        json changes = json::array();
        for (const auto& change : result->consent_changes) {
          s->ctx.on_consent_change(change);
          changes.push_back(change_json(change));
        }
        json answer = {{"profile_id", result->profile_id},
                       {"new_profile_id", result->new_profile_id},
                       {"moved", result->moved},
                       {"events_recomputed", result->events_recomputed},
                       {"events_moved", result->events_moved},
                       {"consent_changes", std::move(changes)}};
        s->ctx.audit(key->name, "profile.unmerge", result->profile_id,
                     {{"identifiers", result->moved}, {"new_profile_id", result->new_profile_id}});
        return http::Response::json(200, dump(answer));
      });

  server.post(
      std::string("/v1/profiles/") + kIdPattern + "/consent", "/v1/profiles/{id}/consent",
      [s, unauthorized](const http::Request& r) {
        auto key = s->ctx.keys.authenticate_admin(r, "admin");
        if (!key) return unauthorized();
        auto body = parse_json(r.body, kBodyLimits);
        if (!body) return s->bad_request("body: " + body.error().message);
        if (!body->is_object() || !body->contains("purposes") || !(*body)["purposes"].is_object()) {
          return s->bad_request(
              "body must be {\"purposes\": {\"<purpose>\": \"granted\"|\"denied\"}, "
              "\"source\": \"api\"}");
        }
        ConsentFlags flags;
        for (const auto& [purpose, state] : (*body)["purposes"].items()) {
          ConsentState* slot = purpose == "analytics"         ? &flags.analytics
                               : purpose == "personalization" ? &flags.personalization
                               : purpose == "marketing"       ? &flags.marketing
                                                              : nullptr;
          if (slot == nullptr) {
            return s->bad_request("purposes." + purpose +
                                  ": unknown purpose (analytics, personalization, marketing)");
          }
          std::optional<ConsentState> parsed;
          if (state.is_string()) parsed = parse_consent_state(state.get<std::string>());
          if (!parsed || *parsed == ConsentState::kUnknown) {
            return s->bad_request("purposes." + purpose + ": must be \"granted\" or \"denied\"");
          }
          *slot = *parsed;
        }
        if (flags == ConsentFlags{}) return s->bad_request("purposes: at least one purpose");
        std::string source = "api";
        if (auto it = body->find("source"); it != body->end()) {
          if (!it->is_string() || it->get<std::string>().empty() ||
              it->get<std::string>().size() > 32) {
            return s->bad_request("source must be a string of 1..32 characters");
          }
          source = it->get<std::string>();
        }
        const std::string target = r.path_params[0];
        auto change = s->ctx.profiles.set_consent(target, flags, source,
                                                  s->ctx.clock->now_unix_ms(), key->name);
        if (!change) return error_answer(change.error());
        if (change->changed) s->ctx.on_consent_change(*change);
        s->ctx.audit(key->name, "profile.consent", change->profile_id,
                     {{"purposes", (*body)["purposes"]},
                      {"source", source},
                      {"version", change->version},
                      {"changed", change->changed}});
        return http::Response::json(200, dump(change_json(*change)));
      });

  server.get(
      std::string("/v1/profiles/") + kIdPattern + "/export", "/v1/profiles/{id}/export",
      [s, unauthorized](const http::Request& r) {
        auto key = s->ctx.keys.authenticate_admin(r, "admin");
        if (!key) return unauthorized();
        const std::string target = r.path_params[0];
        auto view = s->ctx.profiles.get(target, std::numeric_limits<std::size_t>::max());
        if (!view) return error_answer(view.error());
        if (!*view) return http::Response::error(404, "no profile " + target);
        auto ids = s->ctx.profiles.event_ids((*view)->profile_id, s->ctx.max_export_events + 1, "");
        if (!ids) return error_answer(ids.error());
        if (ids->size() > s->ctx.max_export_events) {
          return http::Response::error(422, "profile has more than max_export_events (" +
                                                std::to_string(s->ctx.max_export_events) +
                                                ") events");
        }
        json events = json::array();
        for (const auto& id : *ids) {
          auto stored = s->ctx.store.get_event(id);
          if (!stored) return error_answer(stored.error());
          if (*stored) events.push_back(stored_event_json(**stored));
        }
        json body = view_json(**view);
        body["exported_at"] = time_text(s->ctx.clock->now_unix_ms());
        body["events"] = std::move(events);
        s->ctx.audit(key->name, "profile.export", (*view)->profile_id,
                     {{"events", body["events"].size()}});
        kLog.info("profile exported", {{"profile_id", (*view)->profile_id}, {"actor", key->name}});
        return http::Response::json(200, dump(body));
      });
}

}  // namespace aisle::collector
