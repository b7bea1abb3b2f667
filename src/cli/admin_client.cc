#include "cli/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace meshgate::cli {

namespace {

constexpr int reply_timeout_ms = 60'000;  // a reload of a large file, a plan of thousands of services

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) close(fd_);
    }
    int fd() const { return fd_; }

private:
    int fd_;
};

}  // namespace

std::string default_socket() {
    if (const char* env = std::getenv("MESHGATE_SOCKET"); env && *env) return env;
    return "/run/meshgate/admin.sock";
}

nlohmann::json admin_request(const std::string& path, const std::string& command, const nlohmann::json& args) {
    auto unreachable = [&](const std::string& what) {
        return AdminUnreachable{"cannot reach meshgated at " + path + ": " + what};
    };
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path) throw unreachable("socket path too long");
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    Socket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (s.fd() < 0) throw unreachable(std::strerror(errno));
    if (connect(s.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int e = errno;
        std::string hint;
        if (e == ENOENT || e == ECONNREFUSED) hint = " (is meshgated running? its [admin].socket, or --socket PATH)";
        else if (e == EACCES) hint = " (not allowed: run as root or as a member of [admin].socket_group)";
        throw unreachable(std::strerror(e) + hint);
    }
    const nlohmann::json request = {{"id", 1}, {"command", command}, {"args", args}};
    const std::string line = request.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        const ssize_t n = send(s.fd(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) throw unreachable(std::string("sending the request: ") + std::strerror(errno));
        sent += static_cast<size_t>(n);
    }
    std::string reply;
    char buffer[65536];
    while (reply.find('\n') == std::string::npos) {
        pollfd p{s.fd(), POLLIN, 0};
        const int ready = poll(&p, 1, reply_timeout_ms);
        if (ready == 0) throw unreachable("no reply within " + std::to_string(reply_timeout_ms / 1000) + " s");
        if (ready < 0 && errno == EINTR) continue;
        const ssize_t n = recv(s.fd(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw unreachable("the daemon closed the connection without a reply");
        reply.append(buffer, static_cast<size_t>(n));
    }
    auto doc = nlohmann::json::parse(reply.substr(0, reply.find('\n')), nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("ok")) throw unreachable("the reply is not an admin protocol reply");
    return doc;
}

}  // namespace meshgate::cli
