#include "bench/compare/producer.hpp"

#include <httplib.h>
#include <mqtt/async_client.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace aisle::bench::compare {
namespace {

using SteadyClock = std::chrono::steady_clock;

class HttpSender final : public ChunkSender {
 public:
  HttpSender(const std::string& host, int port) : client_(host, port) {
    client_.set_keep_alive(true);
    client_.set_tcp_nodelay(true);
    client_.set_connection_timeout(std::chrono::seconds(2));
    client_.set_read_timeout(std::chrono::seconds(30));
  }

  void send(const StoreTraffic& traffic, std::size_t first, std::size_t count,
            std::vector<std::uint8_t>& accepted) override {
    std::string body;
    for (std::size_t i = first; i < first + count; ++i) {
      body += traffic.texts[i];
      body += '\n';
    }
    auto response = client_.Post("/v1/events", body, "application/x-ndjson");
    if (!response || response->status != 202) return;  // refused or no answer: not accepted
    const auto answer = nlohmann::json::parse(response->body, nullptr, false);
    if (answer.is_discarded()) return;
    std::vector<std::uint8_t> rejected(count, 0);
    for (const auto& item : answer.value("rejected", nlohmann::json::array())) {
      const auto index = item.value("index", count);
      if (index < count) rejected[index] = 1;
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (!rejected[i]) accepted[first + i] = 1;
    }
  }

 private:
  httplib::Client client_;
};

class MqttSender final : public ChunkSender {
 public:
  MqttSender(const std::string& uri, const std::string& client_id, std::string topic,
             std::chrono::milliseconds ack_timeout)
      : client_(uri, client_id, ::mqtt::create_options(MQTTVERSION_3_1_1), nullptr),
        topic_(std::move(topic)),
        ack_timeout_(ack_timeout) {
    options_ = ::mqtt::connect_options_builder()
                   .mqtt_version(MQTTVERSION_3_1_1)
                   .clean_session(true)
                   .keep_alive_interval(std::chrono::seconds(10))
                   .connect_timeout(std::chrono::seconds(2))
                   .max_inflight(1000)
                   .automatic_reconnect(std::chrono::seconds(1), std::chrono::seconds(2))
                   .finalize();
    try {
      client_.connect(options_)->wait_for(std::chrono::seconds(5));
    } catch (const ::mqtt::exception&) {
      // Paho's automatic reconnect takes over only after a first successful connect; send()
      // retries the connect itself while the broker is away.
    }
  }
  ~MqttSender() override {
    try {
      if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const ::mqtt::exception&) {
    }
  }

  void send(const StoreTraffic& traffic, std::size_t first, std::size_t count,
            std::vector<std::uint8_t>& accepted) override {
    if (!client_.is_connected() && !reconnect()) return;
    std::vector<std::pair<std::size_t, ::mqtt::delivery_token_ptr>> tokens;
    tokens.reserve(count);
    for (std::size_t i = first; i < first + count; ++i) {
      try {
        tokens.emplace_back(i, client_.publish(topic_, traffic.texts[i], 1, false));
      } catch (const ::mqtt::exception&) {
        break;  // disconnected: the rest of the chunk is not accepted
      }
    }
    const auto deadline = SteadyClock::now() + ack_timeout_;
    for (auto& [index, token] : tokens) {
      try {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        if (left.count() > 0 && token->wait_for(left) && token->get_return_code() == 0) {
          accepted[index] = 1;
        }
      } catch (const ::mqtt::exception&) {
        // lost with the connection: not accepted
      }
    }
  }

 private:
  bool reconnect() {
    if (client_.is_connected()) return true;
    try {
      client_.connect(options_)->wait_for(std::chrono::seconds(2));
    } catch (const ::mqtt::exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return client_.is_connected();
  }

  ::mqtt::async_client client_;
  ::mqtt::connect_options options_;
  std::string topic_;
  std::chrono::milliseconds ack_timeout_;
};

}  // namespace

DriveResult drive(const StoreTraffic& traffic, const SenderFactory& factory,
                  const DriveOptions& options, std::atomic<std::size_t>& sent) {
  const std::size_t total = traffic.texts.size();
  const std::size_t chunks = (total + options.chunk - 1) / options.chunk;
  DriveResult result;
  result.accepted.assign(total, 0);
  std::atomic<std::size_t> next_chunk{0};
  std::vector<std::unique_ptr<ChunkSender>> senders;
  for (int t = 0; t < options.threads; ++t) senders.push_back(factory(t));
  const auto started = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        const std::size_t k = next_chunk++;
        if (k >= chunks) return;
        const std::size_t first = k * options.chunk;
        const std::size_t count = std::min(options.chunk, total - first);
        if (options.rate > 0) {
          // Chunk k is due when the whole stream, at `rate`, has reached its first event.
          std::this_thread::sleep_until(
              started +
              std::chrono::duration_cast<SteadyClock::duration>(
                  std::chrono::duration<double>(static_cast<double>(first) / options.rate)));
        }
        sent += count;
        // Each thread writes only its own chunks' flags: no two threads touch one element.
        senders[static_cast<std::size_t>(t)]->send(traffic, first, count, result.accepted);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  senders.clear();
  for (auto flag : result.accepted) result.accepted_count += flag;
  return result;
}

SenderFactory http_senders(const std::string& host, int port) {
  return [host, port](int) { return std::make_unique<HttpSender>(host, port); };
}

SenderFactory mqtt_senders(const std::string& uri, const std::string& topic,
                           std::chrono::milliseconds ack_timeout) {
  return [uri, topic, ack_timeout](int thread) {
    return std::make_unique<MqttSender>(uri, "producer-" + std::to_string(thread), topic,
                                        ack_timeout);
  };
}

}  // namespace aisle::bench::compare
