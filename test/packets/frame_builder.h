#pragma once

// Builds test frames byte by byte, with every checksum computed from scratch, independently
// of the data plane's incremental updates: a rewritten packet must equal a freshly built one.

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace meshgate::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline Bytes ip_bytes(const std::string& text) {
    Bytes b(text.find(':') == std::string::npos ? 4 : 16);
    inet_pton(b.size() == 4 ? AF_INET : AF_INET6, text.c_str(), b.data());
    return b;
}

inline void put16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, size_t at, uint32_t v) {
    put16(b, at, static_cast<uint16_t>(v >> 16));
    put16(b, at + 2, static_cast<uint16_t>(v));
}
inline uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }

inline uint16_t internet_checksum(const uint8_t* data, size_t size, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < size; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (size & 1) sum += static_cast<uint32_t>(data[size - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

enum TcpFlag : uint8_t { FIN = 0x01, SYN = 0x02, RST = 0x04, PSH = 0x08, ACK = 0x10 };

struct Frame {
    Mac src_mac{0x02, 0, 0, 0, 0, 0xc1};
    Mac dst_mac{0x02, 0, 0, 0, 0, 0x01};
    int vlan = -1;  // 802.1Q tag id, or none
    std::string src = "10.0.0.1";
    std::string dst = "10.96.0.1";
    uint8_t protocol = 6;
    uint16_t sport = 40000;
    uint16_t dport = 80;
    uint8_t tcp_flags = SYN;
    uint32_t seq = 1000;
    uint32_t ack = 0;
    uint8_t ttl = 64;
    Bytes ip_options;  // IPv4 options, a multiple of 4 bytes
    Bytes payload;
    bool udp_no_checksum = false;
    uint8_t icmp_type = 8;
    uint16_t icmp_id = 7;

    bool v6() const { return src.find(':') != std::string::npos; }

    Bytes l4() const {
        Bytes b;
        if (protocol == 6) {
            b.assign(20, 0);
            put16(b, 0, sport);
            put16(b, 2, dport);
            put32(b, 4, seq);
            put32(b, 8, ack);
            b[12] = 5 << 4;
            b[13] = tcp_flags;
            put16(b, 14, 65535);
        } else if (protocol == 17) {
            b.assign(8, 0);
            put16(b, 0, sport);
            put16(b, 2, dport);
            put16(b, 4, static_cast<uint16_t>(8 + payload.size()));
        } else {  // ICMP / ICMPv6 echo
            b.assign(8, 0);
            b[0] = icmp_type;
            put16(b, 4, icmp_id);
            put16(b, 6, 1);
        }
        b.insert(b.end(), payload.begin(), payload.end());
        return b;
    }

    Bytes build() const {
        Bytes l4b = l4();
        const Bytes s = ip_bytes(src), d = ip_bytes(dst);
        // L4 checksum over the pseudo-header (not for ICMPv4).
        if (!(protocol == 1) && !(protocol == 17 && udp_no_checksum)) {
            Bytes pseudo(s);
            pseudo.insert(pseudo.end(), d.begin(), d.end());
            Bytes tail(v6() ? 8 : 4, 0);
            if (v6()) {
                put32(tail, 0, static_cast<uint32_t>(l4b.size()));
                tail[7] = protocol;
            } else {
                tail[1] = protocol;
                put16(tail, 2, static_cast<uint16_t>(l4b.size()));
            }
            pseudo.insert(pseudo.end(), tail.begin(), tail.end());
            pseudo.insert(pseudo.end(), l4b.begin(), l4b.end());
            uint16_t c = internet_checksum(pseudo.data(), pseudo.size());
            if (protocol == 17 && c == 0) c = 0xffff;
            put16(l4b, protocol == 6 ? 16 : protocol == 17 ? 6 : 2, c);
        } else if (protocol == 1) {
            put16(l4b, 2, internet_checksum(l4b.data(), l4b.size()));
        }
        Bytes ip;
        if (v6()) {
            ip.assign(40, 0);
            ip[0] = 0x60;
            put16(ip, 4, static_cast<uint16_t>(l4b.size()));
            ip[6] = protocol;
            ip[7] = ttl;
            std::memcpy(&ip[8], s.data(), 16);
            std::memcpy(&ip[24], d.data(), 16);
        } else {
            const size_t header = 20 + ip_options.size();
            ip.assign(header, 0);
            ip[0] = static_cast<uint8_t>(0x40 | (header / 4));
            put16(ip, 2, static_cast<uint16_t>(header + l4b.size()));
            put16(ip, 4, 0x1234);
            put16(ip, 6, 0x4000);  // DF
            ip[8] = ttl;
            ip[9] = protocol;
            std::memcpy(&ip[12], s.data(), 4);
            std::memcpy(&ip[16], d.data(), 4);
            std::memcpy(&ip[20], ip_options.data(), ip_options.size());
            put16(ip, 10, internet_checksum(ip.data(), header));
        }
        Bytes f(dst_mac.begin(), dst_mac.end());
        f.insert(f.end(), src_mac.begin(), src_mac.end());
        if (vlan >= 0) {
            f.push_back(0x81);
            f.push_back(0x00);
            f.push_back(static_cast<uint8_t>(vlan >> 8));
            f.push_back(static_cast<uint8_t>(vlan));
        }
        f.push_back(v6() ? 0x86 : 0x08);
        f.push_back(v6() ? 0xdd : 0x00);
        f.insert(f.end(), ip.begin(), ip.end());
        f.insert(f.end(), l4b.begin(), l4b.end());
        return f;
    }
};

inline Bytes arp_frame(uint16_t op, const Mac& sender_mac, const std::string& sender_ip, const std::string& target_ip,
                       const Mac& target_mac = {0, 0, 0, 0, 0, 0}) {
    Bytes f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (op == 2) std::copy(target_mac.begin(), target_mac.end(), f.begin());
    f.insert(f.end(), sender_mac.begin(), sender_mac.end());
    f.push_back(0x08);
    f.push_back(0x06);
    Bytes a(28, 0);
    put16(a, 0, 1);
    put16(a, 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a, 6, op);
    std::copy(sender_mac.begin(), sender_mac.end(), a.begin() + 8);
    auto sip = ip_bytes(sender_ip), tip = ip_bytes(target_ip);
    std::copy(sip.begin(), sip.end(), a.begin() + 14);
    std::copy(target_mac.begin(), target_mac.end(), a.begin() + 18);
    std::copy(tip.begin(), tip.end(), a.begin() + 24);
    f.insert(f.end(), a.begin(), a.end());
    return f;
}

}  // namespace meshgate::testing

namespace meshgate::testing {

// An ICMP (v4) / ICMPv6 error from `from` to `to` quoting `quoted_ip` (an IP packet without
// its Ethernet header). `mtu` fills the next-hop MTU (v4 type 3) or the MTU (v6 type 2).
inline Bytes icmp_error_frame(const Mac& src_mac, const Mac& dst_mac, const std::string& from, const std::string& to,
                              uint8_t type, uint8_t code, uint16_t mtu, const Bytes& quoted_ip, uint8_t ttl = 64) {
    const bool v6 = from.find(':') != std::string::npos;
    Bytes icmp(8, 0);
    icmp[0] = type;
    icmp[1] = code;
    put16(icmp, 6, mtu);
    icmp.insert(icmp.end(), quoted_ip.begin(), quoted_ip.end());
    const Bytes s = ip_bytes(from), d = ip_bytes(to);
    if (v6) {
        Bytes pseudo(s);
        pseudo.insert(pseudo.end(), d.begin(), d.end());
        Bytes tail(8, 0);
        put32(tail, 0, static_cast<uint32_t>(icmp.size()));
        tail[7] = 58;
        pseudo.insert(pseudo.end(), tail.begin(), tail.end());
        pseudo.insert(pseudo.end(), icmp.begin(), icmp.end());
        put16(icmp, 2, internet_checksum(pseudo.data(), pseudo.size()));
    } else {
        put16(icmp, 2, internet_checksum(icmp.data(), icmp.size()));
    }
    Bytes ip;
    if (v6) {
        ip.assign(40, 0);
        ip[0] = 0x60;
        put16(ip, 4, static_cast<uint16_t>(icmp.size()));
        ip[6] = 58;
        ip[7] = ttl;
        std::memcpy(&ip[8], s.data(), 16);
        std::memcpy(&ip[24], d.data(), 16);
    } else {
        ip.assign(20, 0);
        ip[0] = 0x45;
        put16(ip, 2, static_cast<uint16_t>(20 + icmp.size()));
        ip[8] = ttl;
        ip[9] = 1;
        std::memcpy(&ip[12], s.data(), 4);
        std::memcpy(&ip[16], d.data(), 4);
        put16(ip, 10, internet_checksum(ip.data(), 20));
    }
    Bytes f(dst_mac.begin(), dst_mac.end());
    f.insert(f.end(), src_mac.begin(), src_mac.end());
    f.push_back(v6 ? 0x86 : 0x08);
    f.push_back(v6 ? 0xdd : 0x00);
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), icmp.begin(), icmp.end());
    return f;
}

inline Bytes ip_part(const Bytes& frame) { return Bytes(frame.begin() + 14, frame.end()); }

}  // namespace meshgate::testing

namespace meshgate::testing {

// An ICMPv6 neighbour solicitation (135) or advertisement (136) with one link-layer option.
inline Bytes nd_frame(uint8_t type, const Mac& src_mac, const Mac& dst_mac, const std::string& src, const std::string& dst,
                      const std::string& target, uint8_t option_type, const Mac& option_mac, uint8_t flags = 0) {
    Bytes icmp(32, 0);
    icmp[0] = type;
    icmp[4] = flags;
    auto t = ip_bytes(target);
    std::copy(t.begin(), t.end(), icmp.begin() + 8);
    icmp[24] = option_type;
    icmp[25] = 1;
    std::copy(option_mac.begin(), option_mac.end(), icmp.begin() + 26);
    const Bytes s = ip_bytes(src), d = ip_bytes(dst);
    Bytes pseudo(s);
    pseudo.insert(pseudo.end(), d.begin(), d.end());
    Bytes tail = {0, 0, 0, 32, 0, 0, 0, 58};
    pseudo.insert(pseudo.end(), tail.begin(), tail.end());
    pseudo.insert(pseudo.end(), icmp.begin(), icmp.end());
    put16(icmp, 2, internet_checksum(pseudo.data(), pseudo.size()));
    Bytes ip(40, 0);
    ip[0] = 0x60;
    put16(ip, 4, 32);
    ip[6] = 58;
    ip[7] = 255;
    std::copy(s.begin(), s.end(), ip.begin() + 8);
    std::copy(d.begin(), d.end(), ip.begin() + 24);
    Bytes f(dst_mac.begin(), dst_mac.end());
    f.insert(f.end(), src_mac.begin(), src_mac.end());
    f.push_back(0x86);
    f.push_back(0xdd);
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), icmp.begin(), icmp.end());
    return f;
}

}  // namespace meshgate::testing
