#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"

namespace meshgate::control {

// An HTTP answer of the metrics endpoint.
struct HttpAnswer {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// What a request head asks for: `status` 0 and a method and path, or the error status to
// answer (400 malformed, 405 not GET/HEAD, 431 too large). `complete` is false while the
// head's blank line has not arrived and it is not too large yet.
struct HttpRequest {
    bool complete = false;
    int status = 0;
    bool head = false;  // HEAD: the answer without its body
    std::string path;
};
HttpRequest parse_request_head(std::string_view in, size_t max_head);

// A minimal HTTP/1.x server for a Prometheus scraper and probes at [admin].metrics_listen:
// GET (or HEAD) of a path, one request per connection, `Connection: close`. Polled from the
// control thread, never blocking it: non-blocking sockets, bounded request heads, a cap on
// connections, a timeout. Anything but a well-formed GET/HEAD gets 400 or 405.
class MetricsServer {
public:
    using Handler = std::function<HttpAnswer(const std::string& path)>;
    MetricsServer(const SocketAddress& listen, Handler handler);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    void poll();
    uint16_t port() const { return port_; }  // the bound port (useful with port 0)

private:
    struct Connection;
    bool serve(Connection& c, std::chrono::steady_clock::time_point now);  // false: close it

    int fd_ = -1;
    uint16_t port_ = 0;
    Handler handler_;
    std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace meshgate::control
