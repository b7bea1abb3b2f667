#include "core/sockaddr.h"

#include <netinet/in.h>

#include <array>
#include <cstring>

namespace meshgate {

socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& out) {
    std::memset(&out, 0, sizeof out);
    if (address.is_v4()) {
        auto* a = reinterpret_cast<sockaddr_in*>(&out);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        std::memcpy(&a->sin_addr, address.bytes().data(), 4);
        return sizeof *a;
    }
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    std::memcpy(&a->sin6_addr, address.bytes().data(), 16);
    return sizeof *a;
}

std::optional<SocketAddress> from_sockaddr(const sockaddr_storage& in) {
    if (in.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&in);
        uint32_t host = ntohl(a->sin_addr.s_addr);
        return SocketAddress{IpAddress::v4(host), ntohs(a->sin_port)};
    }
    if (in.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&in);
        std::array<uint8_t, 16> bytes;
        std::memcpy(bytes.data(), &a->sin6_addr, 16);
        return SocketAddress{IpAddress::v6(bytes), ntohs(a->sin6_port)};
    }
    return std::nullopt;
}

}  // namespace meshgate
