#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace meshgate::control {

// The reply to one request line. An update's reply waits until the snapshot that carries it
// is visible to every worker (`after_generation`; 0: send at once).
struct AdminReply {
    std::string line;  // without the newline
    uint64_t after_generation = 0;
    bool ok = true;  // false: an error reply
    // When set, makes `line` once the generation is visible: the reply then shows the
    // update's effect (an endpoint's new level and share), not the state before it.
    std::function<std::string()> render;
};

struct AdminLimits {
    size_t max_clients = 64;
    size_t max_request = 64 * 1024;          // bytes of one request line
    size_t max_reply = 64 * 1024 * 1024;     // a plan of thousands of services fits
    std::chrono::seconds idle_timeout{300};  // connected, no request pending
    std::chrono::seconds write_timeout{10};  // a reply the client does not read
};

// Serves newline-delimited requests on a listening socket from the control thread, without
// ever blocking it: non-blocking sockets, one request in flight per client (the next line is
// read once the reply has gone), bounded input and output, timeouts, a cap on clients.
// A client over a limit gets an error reply where one can still reach it, then is closed.
class AdminServer {
public:
    using Handler = std::function<AdminReply(std::string_view request)>;
    // What the server tells the handler's owner, for metrics.
    struct Counters {
        uint64_t accepted = 0, refused = 0, requests = 0, closed_oversized = 0, closed_timeout = 0;
    };

    AdminServer(int listen_fd, Handler handler, AdminLimits limits = {});
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    // One round: accepts, reads, answers, writes; never waits. `visible` is the newest
    // generation every worker sees.
    void poll(uint64_t visible);
    size_t clients() const { return clients_.size(); }
    const Counters& counters() const { return counters_; }

    // A reply with {"id": id, "ok": false, "error": {...}}; used for requests that never reach a handler.
    static std::string error_line(std::string_view id_json, std::string_view code, std::string_view message);

private:
    struct Client;
    void accept_clients();
    bool serve(Client& c, uint64_t visible, std::chrono::steady_clock::time_point now);  // false: close it

    int listen_fd_;
    Handler handler_;
    AdminLimits limits_;
    std::vector<std::unique_ptr<Client>> clients_;
    Counters counters_;
};

}  // namespace meshgate::control
