// Active health checks against real TCP and HTTP servers on loopback.
#include "control/health_checker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "config/load_config.h"

namespace meshgate::control {
namespace {

// A loopback listener on a free port. `answer`: what it writes to each connection it accepts
// (nothing: it never accepts, connections wait in the backlog).
class Server {
public:
    explicit Server(std::string answer, bool accept = true) : answer_(std::move(answer)) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd_, 64);
        socklen_t length = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
        port_ = ntohs(a.sin_port);
        if (accept) {
            thread_ = std::thread([this] {
                while (!stop_) {
                    const int c = ::accept(fd_, nullptr, nullptr);
                    if (c < 0) return;
                    char buffer[1024];
                    (void)!recv(c, buffer, sizeof buffer, 0);
                    (void)!send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
                    close(c);
                }
            });
        }
    }
    ~Server() { stop(); }
    void stop() {
        stop_ = true;
        if (fd_ >= 0) {
            shutdown(fd_, SHUT_RDWR);
            close(fd_);
            fd_ = -1;
        }
        if (thread_.joinable()) thread_.join();
    }
    uint16_t port() const { return port_; }

private:
    std::string answer_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

Config config_for(uint16_t port, const std::string& check) {
    const std::string text = R"(
[node]
name = "gw"
[[service]]
name = "web"
namespace = "t"
vips = ["10.96.0.1"]
ports = [{ port = 80, target_port = )" + std::to_string(port) + R"(, protocol = "tcp" }]
[[endpoint]]
service = "t/web"
address = "127.0.0.1"
)" + check;
    auto r = config::load_config_string(text, "hc.toml");
    EXPECT_TRUE(r.config) << (r.diagnostics.items.empty() ? "" : r.diagnostics.items.front().to_string());
    return *r.config;
}

const char* tcp_check = R"(
[[health_check]]
service = "t/web"
kind = "tcp"
interval = "20ms"
timeout = "10ms"
jitter = "1ms"
unhealthy_threshold = 2
healthy_threshold = 2
)";

// Polls for up to `limit` until `done`.
template <typename Done>
bool run(HealthChecker& h, LiveState& live, OutlierTracker& o, Done done, std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        h.poll(std::chrono::steady_clock::now().time_since_epoch(), live, o);
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

MonotonicTime now() { return std::chrono::steady_clock::now().time_since_epoch(); }

TEST(HealthChecker, TcpConnectsKeepAnEndpointUpAndRefusalsMarkItDown) {
    auto server = std::make_unique<Server>("");
    LiveState live(config_for(server->port(), tcp_check));
    OutlierTracker outliers;
    HealthChecker h;
    h.sync(live, now());
    EXPECT_EQ(h.targets(), 1u);
    ASSERT_TRUE(run(h, live, outliers, [&] { return h.probes("ok") >= 3; }));
    EXPECT_FALSE(live.health()[0].check_down);
    server->stop();  // now refused
    ASSERT_TRUE(run(h, live, outliers, [&] { return live.health()[0].check_down; }));
    EXPECT_EQ(h.state(0)->consecutive_failures, 2u);
    EXPECT_EQ(h.state(0)->last, "Connection refused");
}

TEST(HealthChecker, HttpNeedsA2xxStatus) {
    const char* http_check = R"(
[[health_check]]
service = "t/web"
kind = "http"
path = "/healthz"
interval = "250ms"
timeout = "250ms"  # ample: this test is about the answer, not the clock (the suite runs tests in parallel)
jitter = "1ms"
unhealthy_threshold = 1
healthy_threshold = 1
)";
    Server bad("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
    LiveState live(config_for(bad.port(), http_check));
    OutlierTracker outliers;
    HealthChecker h;
    h.sync(live, now());
    ASSERT_TRUE(run(h, live, outliers, [&] { return live.health()[0].check_down; }));
    EXPECT_EQ(h.state(0)->last, "HTTP 503");

    Server good("HTTP/1.0 204 No Content\r\n\r\n");
    LiveState live2(config_for(good.port(), http_check));
    HealthChecker h2;
    h2.sync(live2, now());
    ASSERT_TRUE(run(h2, live2, outliers, [&] { return h2.probes("ok") >= 2; }));
    EXPECT_FALSE(live2.health()[0].check_down);

    Server garbage("SSH-2.0-OpenSSH_9.2\r\n");
    LiveState live3(config_for(garbage.port(), http_check));
    HealthChecker h3;
    h3.sync(live3, now());
    ASSERT_TRUE(run(h3, live3, outliers, [&] { return live3.health()[0].check_down; }));
    EXPECT_EQ(h3.state(0)->last, "not an HTTP response");
}

TEST(HealthChecker, ASilentServerTimesOut) {
    const char* http_check = R"(
[[health_check]]
service = "t/web"
kind = "http"
path = "/"
interval = "20ms"
timeout = "10ms"
jitter = "1ms"
unhealthy_threshold = 2
)";
    Server silent("", false);  // connects (the backlog), never answers
    LiveState live(config_for(silent.port(), http_check));
    OutlierTracker outliers;
    HealthChecker h;
    h.sync(live, now());
    ASSERT_TRUE(run(h, live, outliers, [&] { return live.health()[0].check_down; }));
    EXPECT_EQ(h.state(0)->last, "timeout");
    EXPECT_GE(h.probes("timeout"), 2u);
}

TEST(HealthChecker, StateSurvivesASyncAndRemovedEndpointsAreDropped) {
    Server server("");
    LiveState live(config_for(server.port(), tcp_check));
    OutlierTracker outliers;
    HealthChecker h;
    h.sync(live, now());
    ASSERT_TRUE(run(h, live, outliers, [&] { return h.probes("ok") >= 2; }));
    const auto successes = h.state(0)->consecutive_successes;
    Endpoint other;
    other.service = "t/web";
    other.address = IpAddress::parse("127.0.0.2");
    ASSERT_FALSE(live.add(other));
    h.sync(live, now());
    EXPECT_EQ(h.targets(), 2u);
    EXPECT_GE(h.state(0)->consecutive_successes, successes) << "kept across the sync";
    ASSERT_FALSE(live.remove(0));
    h.sync(live, now());
    EXPECT_EQ(h.targets(), 1u);
    EXPECT_FALSE(h.state(0));
}

}  // namespace
}  // namespace meshgate::control
