#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meshgate {

// An IPv4 or IPv6 address, stored in network byte order (v4 in the first four bytes).
class IpAddress {
public:
    enum class Family : uint8_t { v4, v6 };

    IpAddress() = default;
    static IpAddress v4(uint32_t host_order);
    static IpAddress v6(const std::array<uint8_t, 16>& bytes);
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    const std::array<uint8_t, 16>& bytes() const { return bytes_; }
    size_t size() const { return is_v4() ? 4 : 16; }
    std::string to_string() const;

    auto operator<=>(const IpAddress&) const = default;

private:
    Family family_ = Family::v4;
    std::array<uint8_t, 16> bytes_{};
};

// An address with a prefix length, e.g. a port's "10.10.0.2/24".
struct IpPrefix {
    IpAddress address;
    uint8_t length = 0;

    static std::optional<IpPrefix> parse(std::string_view text);
    bool contains(const IpAddress& other) const;
    std::string to_string() const;
    bool operator==(const IpPrefix&) const = default;
};

// "10.0.0.1:80" or "[::1]:80".
struct SocketAddress {
    IpAddress address;
    uint16_t port = 0;

    static std::optional<SocketAddress> parse(std::string_view text);
    std::string to_string() const;
    auto operator<=>(const SocketAddress&) const = default;
};

}  // namespace meshgate
