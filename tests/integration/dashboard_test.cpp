// The collector's dashboard with the real daemons: traffic from two stores and the web, one
// event quarantined at the edge; /v1/dashboard reports it per store and source, and the page at
// /ui, driven in headless Chromium (Debian's `chromium`, installed by `make deps`), renders those
// numbers. The screenshot is kept as tests/dashboard.png in the build tree.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "common/time_format.hpp"
#include "common/uuid.hpp"
#include "tests/support/pipeline_env.hpp"

namespace aisle::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

json event(UuidV7Generator& ids, const std::string& type, const std::string& store,
           const std::string& channel, int shopper, const json& properties) {
  return {{"event_id", ids.next().to_string()},
          {"type", type},
          {"occurred_at", format_rfc3339_ms(SystemClock::instance()->now_unix_ms())},
          {"source", {{"store_id", store}, {"channel", channel}}},
          {"identities", {{"anonymous_id", "anon-" + std::to_string(shopper)}}},
          {"properties", properties}};
}

json product_view(UuidV7Generator& ids, const std::string& store, const std::string& channel,
                  int shopper) {
  return event(ids, "product_view", store, channel, shopper,
               {{"sku", "SKU-" + std::to_string(shopper % 7)},
                {"name", "Espresso machine"},
                {"category", "espresso"},
                {"price", 399.0},
                {"currency", "EUR"}});
}

std::string find_chromium() {
  for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return "";
}

const json* find_series(const json& dashboard, const std::string& store,
                        const std::string& source) {
  for (const auto& s : dashboard["ingest"]["series"]) {
    if (s["store"] == store && s["source"] == source) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("the dashboard shows ingest per store and source, quarantine, latency and agents",
          "[integration][dashboard]") {
  PipelineEnv env({.stores = 2, .edit_agent = fast_agent_timers()});
  UuidV7Generator ids;

  const HttpClient admin = env.collector_admin();
  // A segment defined before the traffic: every shopper who viewed a product in 30 minutes.
  const HttpResponse defined = admin.request(
      "PUT", "/v1/segments/espresso_viewers",
      R"({"name": "Espresso viewers",
          "condition": {"count": {"event": "product_view", "window": "30m", "op": ">=", "value": 1}}})",
      "application/json", {});
  REQUIRE(defined.status / 100 == 2);

  // Store 1: 30 kiosk views and one broken event (quarantined at the edge); store 2: 20 POS-lane
  // views; the web: 10 page views through the collector's own ingest.
  json store1 = json::array();
  for (int i = 0; i < 30; ++i) store1.push_back(product_view(ids, "store-1", "kiosk", i));
  json broken = product_view(ids, "store-1", "kiosk", 99);
  broken["properties"].erase("sku");
  store1.push_back(broken);
  json store2 = json::array();
  for (int i = 0; i < 20; ++i) store2.push_back(product_view(ids, "store-2", "pos", 100 + i));
  json web = json::array();
  for (int i = 0; i < 10; ++i) {
    web.push_back(event(ids, "page_view", "web-nl", "web", 200 + i,
                        {{"url", "https://shop.example/p/" + std::to_string(i)}}));
  }
  REQUIRE(env.agent(1).post("/v1/events", store1.dump()).status == 202);
  REQUIRE(env.agent(2).post("/v1/events", store2.dump()).status == 202);
  REQUIRE(env.collector_writer().post("/v1/events", web.dump()).status == 202);
  REQUIRE(wait_for_drain(env, 60, 1, seconds(30)));
  // One recommendation served (an impression for the CTR panel).
  const HttpResponse rec =
      admin.get("/v1/recommendations?identity=anonymous_id:anon-1&placement=kiosk_home&n=5");
  INFO(rec.describe());
  REQUIRE(rec.status == 200);

  json dashboard;
  // Identity resolution (which feeds the dashboard) runs right after the commit, on its own thread.
  REQUIRE(wait_until(
      [&] {
        dashboard = admin.get("/v1/dashboard").json();
        return dashboard.is_object() && dashboard["ingest"].value("total", 0) == 60 &&
               dashboard.contains("segments") && !dashboard["segments"]["series"].empty() &&
               dashboard["segments"]["series"][0].value("size", 0) == 50;
      },
      seconds(10)));
  INFO(dashboard.dump(2));
  const json* kiosk = find_series(dashboard, "store-1", "kiosk");
  const json* pos = find_series(dashboard, "store-2", "pos");
  const json* site = find_series(dashboard, "web-nl", "web");
  REQUIRE(kiosk);
  REQUIRE(pos);
  REQUIRE(site);
  CHECK((*kiosk)["total"] == 30);
  CHECK((*pos)["total"] == 20);
  CHECK((*site)["total"] == 10);
  CHECK((*kiosk)["per_second"].get<double>() == Approx(30.0 / 60.0));
  CHECK(dashboard["steps"] == 90);

  bool edge_quarantine = false;
  for (const auto& r : dashboard["quarantine"]["reasons"]) {
    if (r["total"].get<double>() >= 1) edge_quarantine = true;
  }
  CHECK(edge_quarantine);
  CHECK(dashboard["latency"]["received"]["count"].get<std::uint64_t>() >= 50);
  CHECK(dashboard["latency"]["received"]["p99_ms"].get<double>() > 0);
  REQUIRE(dashboard["agents"].size() == 2);
  for (const auto& a : dashboard["agents"]) {
    CHECK(a["backlog"] == 0);  // everything was acknowledged
    CHECK(a["last_seen_seconds_ago"].get<double>() >= 0);
    CHECK(a["last_seen_seconds_ago"].get<double>() < 60);
  }
  CHECK(dashboard["erasures"].is_array());
  CHECK(dashboard["segments"]["series"][0]["segment_id"] == "espresso_viewers");
  REQUIRE(dashboard["recommendations"].is_array());
  REQUIRE(dashboard["recommendations"].size() >= 1);
  CHECK(dashboard["recommendations"][0]["placement"] == "kiosk_home");
  CHECK(dashboard["recommendations"][0]["impressions"].get<int>() >= 1);

  // The data needs the admin key (unless dashboard.public); the page itself holds no data.
  CHECK(env.collector().get("/v1/dashboard").status == 401);
  const HttpResponse page = env.collector().get("/ui");
  REQUIRE(page.status == 200);
  CHECK(page.header("content-type").rfind("text/html", 0) == 0);
  CHECK(page.header("content-security-policy").find("default-src 'self'") != std::string::npos);
  CHECK(env.collector().get("/ui/app.js").status == 200);
  CHECK(env.collector().get("/ui/style.css").status == 200);

  // Every metric the packaged Grafana dashboard and alert rules use exists (a renamed metric
  // would leave an empty panel or an alert that can never fire).
  const std::string exposed = env.collector().get("/metrics").body + env.agent(1).get("/metrics").body;
  for (const char* file : {"packaging/grafana/aisle-collector.json",
                           "packaging/prometheus/aisle-alerts.yml"}) {
    std::ifstream in(std::filesystem::path(AISLE_TEST_DATA_DIR).parent_path().parent_path() / file);
    REQUIRE(in);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::regex name("aisle_(collector|agent)_[a-z0-9_]+");
    std::set<std::string> names;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
         ++it) {
      names.insert(it->str());
    }
    CHECK(names.size() >= 8);
    for (const auto& metric : names) {
      INFO(file << " uses " << metric);
      CHECK(exposed.find("\n" + metric) != std::string::npos);
    }
  }

  // The page in a real browser: the key travels in the fragment, never to the server's logs.
  const std::string chromium = find_chromium();
  INFO("Debian's chromium is installed by `make deps`");
  REQUIRE_FALSE(chromium.empty());
  const std::string url = env.env().collector_http + "/ui#key=" + env.env().admin_key;
  const std::string profile = env.dir() + "/chromium-profile";
  const std::vector<std::string> common = {
      chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
      "--no-first-run", "--user-data-dir=" + profile, "--virtual-time-budget=8000",
      "--window-size=1400,1200"};
  std::vector<std::string> dump = common;
  dump.push_back("--dump-dom");
  dump.push_back(url);
  const CommandResult dom = run_command(dump, std::chrono::milliseconds(90000));
  INFO("exit " << dom.exit_code << "; the tail of what chromium wrote:\n"
                << dom.output.substr(dom.output.size() > 4000 ? dom.output.size() - 4000 : 0));
  // The DOM after the page's scripts ran (chromium's own exit status is not looked at: its
  // wrapper script's is unreliable here; a page that did not load has no </html>).
  REQUIRE(dom.output.find("</html>") != std::string::npos);
  auto cell = [&](const std::string& testid) {
    const std::regex pattern("data-testid=\"" + testid + "\"[^>]*>([^<]*)<");
    std::smatch match;
    return std::regex_search(dom.output, match, pattern) ? match[1].str() : std::string("?");
  };
  CHECK(cell("status") == "live");
  CHECK(cell("events-total") == "60");
  CHECK(cell("ingest-store-1-kiosk") == "30");
  CHECK(cell("ingest-store-2-pos") == "20");
  CHECK(cell("ingest-web-nl-web") == "10");
  CHECK(cell("agents-online") == "2 / 2");
  CHECK(cell("backlog-store-1-agent-1") == "0");
  CHECK(cell("latency-p99") != "–");
  CHECK(cell("segment-espresso_viewers") == "50");
  CHECK(dom.output.find("data-testid=\"ctr-kiosk_home-") != std::string::npos);

  std::vector<std::string> shot = common;
  const std::string screenshot = std::filesystem::absolute("dashboard.png").string();
  std::filesystem::remove(screenshot);
  shot.push_back("--screenshot=" + screenshot);
  shot.push_back(url);
  const CommandResult taken = run_command(shot, std::chrono::milliseconds(90000));
  INFO(taken.output.substr(taken.output.size() > 2000 ? taken.output.size() - 2000 : 0));
  REQUIRE(std::filesystem::exists(screenshot));
  CHECK(std::filesystem::file_size(screenshot) > 10000);
}

}  // namespace aisle::test
