#include "control/metrics_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/sockaddr.h"

namespace meshgate::control {

namespace {

constexpr size_t max_connections = 16;
constexpr size_t max_head = 8192;
constexpr auto timeout = std::chrono::seconds(10);

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        case 503: return "Service Unavailable";
    }
    return "Error";
}

std::string response(const HttpAnswer& a, bool head) {
    std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) + "\r\nContent-Type: " + a.content_type +
                      "\r\nContent-Length: " + std::to_string(a.body.size()) + "\r\nConnection: close\r\n";
    if (a.status == 405) out += "Allow: GET, HEAD\r\n";
    out += "\r\n";
    if (!head) out += a.body;
    return out;
}

}  // namespace

HttpRequest parse_request_head(std::string_view in, size_t max_head) {
    HttpRequest r;
    const auto end = in.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (in.size() <= max_head) return r;
        r.complete = true;
        r.status = 431;
        return r;
    }
    r.complete = true;
    const std::string_view line = in.substr(0, in.find("\r\n"));
    const auto first = line.find(' '), second = line.rfind(' ');
    if (first == std::string_view::npos || second == first || line.substr(second + 1).substr(0, 7) != "HTTP/1." ||
        line.size() - second - 1 != 8) {
        r.status = 400;
        return r;
    }
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    if (target.empty() || target.front() != '/' || target.find(' ') != std::string_view::npos) {
        r.status = 400;
        return r;
    }
    if (method != "GET" && method != "HEAD") {
        r.status = 405;
        return r;
    }
    r.head = method == "HEAD";
    r.path = std::string(target.substr(0, target.find('?')));
    return r;
}

struct MetricsServer::Connection {
    int fd = -1;
    std::string in, out;
    bool answered = false;
    std::chrono::steady_clock::time_point opened;
    ~Connection() {
        if (fd >= 0) close(fd);
    }
};

MetricsServer::MetricsServer(const SocketAddress& listen, Handler handler) : handler_(std::move(handler)) {
    sockaddr_storage a{};
    socklen_t length = to_sockaddr(listen, a);
    fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&a), length) != 0 || ::listen(fd_, 16) != 0) {
        const std::string why = std::strerror(errno);
        if (fd_ >= 0) close(fd_);
        throw std::runtime_error("admin.metrics_listen " + listen.to_string() + ": " + why);
    }
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&a)->sin_port : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
}

MetricsServer::~MetricsServer() { close(fd_); }

bool MetricsServer::serve(Connection& c, std::chrono::steady_clock::time_point now) {
    if (now - c.opened > timeout) return false;
    if (!c.answered) {
        char buffer[2048];
        for (;;) {
            const ssize_t n = recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) {
                c.in.append(buffer, static_cast<size_t>(n));
                if (c.in.size() > max_head) break;
                continue;
            }
            if (n == 0 && c.in.find("\r\n\r\n") == std::string::npos) return false;  // closed mid-request
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
            break;
        }
        const HttpRequest request = parse_request_head(c.in, max_head);
        if (!request.complete) return true;  // more to come
        static const char* const why[] = {"malformed request\n", "GET or HEAD\n", "request head too large\n"};
        const HttpAnswer answer = request.status == 0 ? handler_(request.path)
                                  : HttpAnswer{request.status, "text/plain; charset=utf-8",
                                               why[request.status == 400 ? 0 : request.status == 405 ? 1 : 2]};
        const bool head = request.head;
        c.out = response(answer, head);
        c.answered = true;
    }
    while (!c.out.empty()) {
        const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c.out.erase(0, static_cast<size_t>(n));
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return false;  // answered: Connection: close
}

void MetricsServer::poll() {
    const auto now = std::chrono::steady_clock::now();
    for (;;) {
        const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) break;
        if (connections_.size() >= max_connections) {
            close(fd);
            continue;
        }
        auto c = std::make_unique<Connection>();
        c->fd = fd;
        c->opened = now;
        connections_.push_back(std::move(c));
    }
    for (size_t i = 0; i < connections_.size();) {
        if (serve(*connections_[i], now)) {
            ++i;
        } else {
            connections_[i] = std::move(connections_.back());
            connections_.pop_back();
        }
    }
}

}  // namespace meshgate::control
