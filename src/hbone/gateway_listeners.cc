#include "hbone/gateway_listeners.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/sockaddr.h"

namespace meshgate::hbone {

class GatewayListeners::Listener final : public EventLoop::Handler {
public:
    Listener(GatewayListeners& owner, int fd, const SocketAddress& vip) : owner_(owner), fd_(fd), vip_(vip) {
        owner_.loop_.watch(fd_, EPOLLIN, this);
    }
    ~Listener() override {
        owner_.loop_.forget(fd_);
        ::close(fd_);
    }
    void on_events(uint32_t) override {
        for (int i = 0; i < 64; ++i) {
            sockaddr_storage peer{};
            socklen_t length = sizeof peer;
            const int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            owner_.accept_(fd, from_sockaddr(peer).value_or(SocketAddress{}), vip_);
        }
    }

private:
    GatewayListeners& owner_;
    const int fd_;
    const SocketAddress vip_;
};

GatewayListeners::GatewayListeners(EventLoop& loop, Accept accept) : loop_(loop), accept_(std::move(accept)) {}

GatewayListeners::~GatewayListeners() = default;

std::vector<SocketAddress> GatewayListeners::addresses(const Config& config) {
    std::vector<SocketAddress> out;
    for (const auto& s : config.services) {
        if (s.forwarding != Forwarding::hbone) continue;
        for (const auto& vip : s.vips) {
            for (const auto& p : s.ports) {
                if (p.protocol == Protocol::tcp) out.push_back(SocketAddress{vip, p.port});
            }
        }
    }
    return out;
}

std::vector<std::string> GatewayListeners::follow(const Config& config) {
    std::vector<std::string> errors;
    std::set<std::string> wanted;
    for (const auto& a : addresses(config)) {
        const std::string key = a.to_string();
        wanted.insert(key);
        if (open_.count(key)) continue;
        sockaddr_storage s;
        const socklen_t length = to_sockaddr(a, s);
        const int fd = socket(s.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            errors.push_back(key + ": socket: " + std::strerror(errno));
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (a.address.is_v4()) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
        else setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
        if (bind(fd, reinterpret_cast<const sockaddr*>(&s), length) != 0 || listen(fd, 1024) != 0) {
            errors.push_back(key + ": " + std::strerror(errno));
            ::close(fd);
            continue;
        }
        open_.emplace(key, std::make_unique<Listener>(*this, fd, a));
    }
    for (auto it = open_.begin(); it != open_.end();) {
        if (wanted.count(it->first)) ++it;
        else it = open_.erase(it);
    }
    return errors;
}

}  // namespace meshgate::hbone
