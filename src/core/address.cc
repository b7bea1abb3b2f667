#include "core/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace meshgate {

IpAddress IpAddress::v4(uint32_t host_order) {
    IpAddress a;
    a.family_ = Family::v4;
    a.bytes_[0] = static_cast<uint8_t>(host_order >> 24);
    a.bytes_[1] = static_cast<uint8_t>(host_order >> 16);
    a.bytes_[2] = static_cast<uint8_t>(host_order >> 8);
    a.bytes_[3] = static_cast<uint8_t>(host_order);
    return a;
}

IpAddress IpAddress::v6(const std::array<uint8_t, 16>& bytes) {
    IpAddress a;
    a.family_ = Family::v6;
    a.bytes_ = bytes;
    return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    IpAddress a;
    if (inet_pton(AF_INET, buf, a.bytes_.data()) == 1) {
        a.family_ = Family::v4;
        return a;
    }
    if (inet_pton(AF_INET6, buf, a.bytes_.data()) == 1) {
        a.family_ = Family::v6;
        return a;
    }
    return std::nullopt;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) {
    auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto address = IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    auto len_text = text.substr(slash + 1);
    unsigned len = 0;
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (ec != std::errc{} || end != len_text.data() + len_text.size() || len_text.empty()) {
        return std::nullopt;
    }
    if (len > address->size() * 8) return std::nullopt;
    return IpPrefix{*address, static_cast<uint8_t>(len)};
}

bool IpPrefix::contains(const IpAddress& other) const {
    if (other.family() != address.family()) return false;
    unsigned full = length / 8;
    unsigned rest = length % 8;
    const auto& a = address.bytes();
    const auto& b = other.bytes();
    if (std::memcmp(a.data(), b.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

std::string IpPrefix::to_string() const { return address.to_string() + "/" + std::to_string(length); }

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
    std::string_view host;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
        port_text = text.substr(colon + 1);
    }
    auto address = IpAddress::parse(host);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (!address || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        return std::nullopt;
    }
    return SocketAddress{*address, static_cast<uint16_t>(port)};
}

std::string SocketAddress::to_string() const {
    auto host = address.to_string();
    return (address.is_v4() ? host : "[" + host + "]") + ":" + std::to_string(port);
}

}  // namespace meshgate
