#include "control/admin_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

namespace meshgate::control {

struct AdminServer::Client {
    int fd = -1;
    std::string in;    // bytes read, not yet a whole request
    std::string out;   // reply bytes not yet written
    AdminReply pending;  // waits for its generation
    bool has_pending = false;
    bool eof = false;      // the client shut its side: answer what it sent, then close
    bool closing = false;  // close once `out` is written (after reading what the client still sends)
    size_t discarded = 0;
    std::chrono::steady_clock::time_point last_activity, write_stalled_since;

    ~Client() {
        if (fd >= 0) close(fd);
    }
};

AdminServer::AdminServer(int listen_fd, Handler handler, AdminLimits limits)
    : listen_fd_(listen_fd), handler_(std::move(handler)), limits_(limits) {}

AdminServer::~AdminServer() = default;

std::string AdminServer::error_line(std::string_view id_json, std::string_view code, std::string_view message) {
    nlohmann::json id = nlohmann::json::parse(id_json, nullptr, false);
    if (id.is_discarded()) id = nullptr;
    const nlohmann::json reply = {{"id", id}, {"ok", false}, {"error", {{"code", code}, {"message", message}}}};
    // Request bytes echoed in a message may not be UTF-8: replace, never throw.
    return reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AdminServer::accept_clients() {
    for (;;) {
        const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN, or a transient error: try next round
        if (clients_.size() >= limits_.max_clients) {
            const std::string busy = error_line("null", "busy", "too many admin clients connected") + "\n";
            (void)!send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            close(fd);
            ++counters_.refused;
            continue;
        }
        auto c = std::make_unique<Client>();
        c->fd = fd;
        c->last_activity = std::chrono::steady_clock::now();
        clients_.push_back(std::move(c));
        ++counters_.accepted;
    }
}

bool AdminServer::serve(Client& c, uint64_t visible, std::chrono::steady_clock::time_point now) {
    constexpr int max_requests_per_round = 16;  // fairness between clients
    for (int handled = 0; handled <= max_requests_per_round;) {
        if (c.has_pending) {
            if (c.pending.after_generation > visible) return true;  // its snapshot is not visible yet
            if (c.pending.render) c.pending.line = c.pending.render();
            if (c.pending.line.size() > limits_.max_reply) {
                c.pending.line = error_line("null", "reply_too_large", "the reply exceeds the admin socket's limit; narrow the request");
            }
            c.out += c.pending.line;
            c.out += '\n';
            c.has_pending = false;
        }
        while (!c.out.empty()) {
            const ssize_t n = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                c.out.erase(0, static_cast<size_t>(n));
                c.last_activity = now;
                c.write_stalled_since = {};
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (c.write_stalled_since == std::chrono::steady_clock::time_point{}) c.write_stalled_since = now;
                if (now - c.write_stalled_since > limits_.write_timeout) {
                    ++counters_.closed_timeout;
                    return false;
                }
                return true;  // the client reads slowly: later
            }
            return false;  // reset by the peer
        }
        if (c.closing) {
            // Half-close and swallow what it is still sending, so that it reads our error
            // instead of a reset; bounded, then close.
            shutdown(c.fd, SHUT_WR);
            char sink[16384];
            for (;;) {
                const ssize_t n = recv(c.fd, sink, sizeof sink, MSG_DONTWAIT);
                if (n > 0 && (c.discarded += static_cast<size_t>(n)) < 16 * limits_.max_request) continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && now - c.last_activity < std::chrono::seconds(1)) return true;
                return false;  // EOF, an error, too much, or too long
            }
        }
        if (const auto newline = c.in.find('\n'); newline != std::string::npos) {
            std::string_view request(c.in.data(), newline);
            if (!request.empty() && request.back() == '\r') request.remove_suffix(1);
            ++counters_.requests;
            ++handled;
            if (!request.empty()) {
                c.pending = handler_(request);
                c.has_pending = true;
            }
            c.in.erase(0, newline + 1);
            c.last_activity = now;
            continue;
        }
        if (c.in.size() > limits_.max_request) {
            c.out = error_line("null", "request_too_large",
                               "a request is one line of at most " + std::to_string(limits_.max_request) + " bytes") + "\n";
            c.closing = true;
            ++counters_.closed_oversized;
            continue;
        }
        if (c.eof) return false;  // answered everything it sent
        char buffer[16384];
        const size_t room = std::min(sizeof buffer, limits_.max_request + 1 - c.in.size());
        const ssize_t n = recv(c.fd, buffer, room, MSG_DONTWAIT);
        if (n > 0) {
            c.in.append(buffer, static_cast<size_t>(n));
            c.last_activity = now;
            continue;
        }
        if (n == 0) {
            c.eof = true;
            if (!c.in.empty()) c.in += '\n';  // a last request without its newline still counts
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
    }
    if (now - c.last_activity > limits_.idle_timeout) {
        ++counters_.closed_timeout;
        return false;
    }
    return true;
}

void AdminServer::poll(uint64_t visible) {
    accept_clients();
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < clients_.size();) {
        if (serve(*clients_[i], visible, now)) {
            ++i;
        } else {
            clients_[i] = std::move(clients_.back());
            clients_.pop_back();
        }
    }
}

}  // namespace meshgate::control
