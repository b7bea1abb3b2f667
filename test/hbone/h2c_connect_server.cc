// A test server for the HBONE interop tests (connect_session_test.py): hbone::ConnectSession
// over plain TCP on 127.0.0.1 (HTTP/2 with prior knowledge: the TLS layer is tested on its own),
// each admitted stream spliced to a real TCP connection to the endpoint the authority named, or
// to the service's first endpoint (the daemon's server lets the engine choose). One thread, poll.
// Usage: h2c_connect_server CONFIG.toml CLIENT_SPIFFE_ID; prints "port N", serves until killed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <memory>

#include "config/load_config.h"
#include "hbone/connect_session.h"

using namespace meshgate;

namespace {

void nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct Upstream {
    int fd = -1;
    bool connecting = true, eof = false, want_write = false;
};

struct Client : hbone::Upstreams {
    const Config& config;
    int fd;
    std::unique_ptr<hbone::ConnectSession> session;
    std::vector<uint8_t> out;
    std::map<int32_t, Upstream> upstreams;
    bool closing = false;

    Client(const Config& c, int client_fd, const std::string& identity) : config(c), fd(client_fd) {
        session = std::make_unique<hbone::ConnectSession>(config, std::vector<std::string>{identity}, *this);
    }
    ~Client() override {
        session.reset();  // closes what is left
        ::close(fd);
    }

    void open(int32_t stream, const hbone::ConnectDecision& d, const hbone::ConnectHeaders&) override {
        std::optional<IpAddress> address;
        uint16_t port = d.target_port;
        for (uint32_t id = 0; id < config.endpoints.size() && !address; ++id) {
            const auto& e = config.endpoints[id];
            if (d.endpoint ? *d.endpoint == id : config.find_service(e.service) == &config.services[d.service]) {
                address = e.address;
                if (e.port) port = *e.port;
            }
        }
        sockaddr_in6 to{};
        to.sin6_family = AF_INET6;
        to.sin6_port = htons(port);
        if (address && address->is_v4()) {  // as a v4-mapped address
            to.sin6_addr.s6_addr[10] = to.sin6_addr.s6_addr[11] = 0xff;
            std::memcpy(&to.sin6_addr.s6_addr[12], address->bytes().data(), 4);
        } else if (address) {
            std::memcpy(&to.sin6_addr, address->bytes().data(), 16);
        }
        Upstream u;
        u.fd = socket(AF_INET6, SOCK_STREAM, 0);
        nonblocking(u.fd);
        if (connect(u.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS) {
            ::close(u.fd);
            return session->connected(stream, false);
        }
        upstreams[stream] = u;
    }
    size_t write(int32_t stream, std::span<const uint8_t> bytes) override {
        auto& u = upstreams.at(stream);
        const ssize_t n = send(u.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) {
            u.want_write = true;
            return 0;
        }
        return static_cast<size_t>(n);
    }
    void shutdown_write(int32_t stream) override { shutdown(upstreams.at(stream).fd, SHUT_WR); }
    void close(int32_t stream) override {
        auto it = upstreams.find(stream);
        if (it == upstreams.end()) return;
        ::close(it->second.fd);
        upstreams.erase(it);
    }

    void flush() {
        auto more = session->output();
        out.insert(out.end(), more.begin(), more.end());
        while (!out.empty()) {
            const ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
            if (n <= 0) break;
            out.erase(out.begin(), out.begin() + n);
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: h2c_connect_server CONFIG.toml CLIENT_SPIFFE_ID\n");
        return 2;
    }
    auto loaded = config::load_config_file(argv[1]);
    if (!loaded.config) {
        for (const auto& d : loaded.diagnostics.items) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return 2;
    }
    const Config config = *loaded.config;
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || listen(listener, 16) != 0) return 1;
    socklen_t length = sizeof at;
    getsockname(listener, reinterpret_cast<sockaddr*>(&at), &length);
    std::printf("port %u\n", ntohs(at.sin_port));
    std::fflush(stdout);

    std::list<Client> clients;
    std::vector<uint8_t> buffer(256 << 10);
    for (;;) {
        std::vector<pollfd> fds{{listener, POLLIN, 0}};
        std::vector<std::pair<Client*, int32_t>> owners{{nullptr, 0}};  // -1: the client itself
        for (auto& c : clients) {
            fds.push_back({c.fd, static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
            owners.push_back({&c, -1});
            for (auto& [stream, u] : c.upstreams) {
                short events = 0;
                if (u.connecting || u.want_write) events |= POLLOUT;
                if (!u.connecting && !u.eof && c.session->upstream_room(stream) > 0) events |= POLLIN;
                fds.push_back({u.fd, events, 0});
                owners.push_back({&c, stream});
            }
        }
        if (poll(fds.data(), fds.size(), 1000) < 0) return 1;
        if (fds[0].revents & POLLIN) {
            const int fd = accept(listener, nullptr, nullptr);
            if (fd >= 0) {
                nonblocking(fd);
                clients.emplace_back(config, fd, argv[2]);
            }
        }
        for (size_t i = 1; i < fds.size(); ++i) {
            auto [client, stream] = owners[i];
            if (!fds[i].revents || client->closing) continue;
            if (stream == -1) {
                const ssize_t n = recv(client->fd, buffer.data(), buffer.size(), 0);
                if (n == 0 || (n < 0 && errno != EAGAIN) ||
                    (n > 0 && !client->session->receive(std::span(buffer.data(), static_cast<size_t>(n))))) {
                    client->closing = true;
                }
                continue;
            }
            auto it = client->upstreams.find(stream);
            if (it == client->upstreams.end()) continue;
            Upstream& u = it->second;
            if (u.connecting && (fds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(u.fd, SOL_SOCKET, SO_ERROR, &error, &size);
                u.connecting = false;
                if (error != 0) {
                    ::close(u.fd);
                    client->upstreams.erase(it);
                    client->session->connected(stream, false);
                } else {
                    client->session->connected(stream, true);
                }
                continue;
            }
            if (u.want_write && (fds[i].revents & POLLOUT)) {
                u.want_write = false;
                client->session->upstream_writable(stream);
            }
            if (fds[i].revents & (POLLIN | POLLHUP)) {
                const size_t room = client->session->upstream_room(stream);
                const ssize_t n = room ? recv(u.fd, buffer.data(), std::min(room, buffer.size()), 0) : -1;
                if (n > 0) {
                    client->session->upstream_data(stream, std::span(buffer.data(), static_cast<size_t>(n)));
                } else if (n == 0) {
                    u.eof = true;
                    client->session->upstream_closed(stream);
                }
            }
        }
        for (auto& c : clients) c.flush();
        clients.remove_if([](const Client& c) { return c.closing || c.session->finished(); });
    }
}
