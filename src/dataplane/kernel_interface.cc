#include "dataplane/kernel_interface.h"

// <net/if.h> before the <linux/...> headers: they then skip what it already defines.
#include <net/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "netlink/rtnetlink.h"

namespace meshgate::dataplane {

namespace {

[[noreturn]] void fail(const std::string& interface, const std::string& step, int error) {
    throw std::runtime_error("exception interface " + interface + ": " + step + ": " + std::strerror(error));
}

uint8_t family_of(const IpAddress& a) { return a.is_v4() ? AF_INET : AF_INET6; }

}  // namespace

std::vector<std::string> configure_kernel_interface(const std::string& interface, const std::vector<IpPrefix>& addresses,
                                                    uint32_t mtu, const std::optional<IpAddress>& gateway) {
    std::vector<std::string> warnings;
    const unsigned index = if_nametoindex(interface.c_str());
    if (index == 0) fail(interface, "no such interface", errno);
    netlink::Rtnetlink nl;

    if (int e = nl.set_link_up(index, mtu)) fail(interface, "set MTU " + std::to_string(mtu) + " and up", e);

    nlmsghdr* h = nullptr;
    for (const auto& p : addresses) {
        h = nl.start(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
        auto* a = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifaddrmsg)));
        a->ifa_family = family_of(p.address);
        a->ifa_prefixlen = p.length;
        a->ifa_index = index;
        // No duplicate address detection: the data port owns the address already, and DAD
        // would keep it tentative (unusable) for a second.
        a->ifa_flags = IFA_F_NODAD;
        mnl_attr_put(h, IFA_LOCAL, p.address.size(), p.address.bytes().data());
        mnl_attr_put(h, IFA_ADDRESS, p.address.size(), p.address.bytes().data());
        if (int e = nl.request(h)) fail(interface, "add address " + p.to_string(), e);
    }

    if (gateway) {
        h = nl.start(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        auto* r = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
        r->rtm_family = family_of(*gateway);
        r->rtm_table = RT_TABLE_MAIN;
        r->rtm_protocol = RTPROT_STATIC;
        r->rtm_scope = RT_SCOPE_UNIVERSE;
        r->rtm_type = RTN_UNICAST;
        mnl_attr_put(h, RTA_GATEWAY, gateway->size(), gateway->bytes().data());
        mnl_attr_put_u32(h, RTA_OIF, index);
        const int e = nl.request(h);
        if (e == EEXIST) {
            warnings.push_back("exception interface " + interface + ": a default route for " +
                               (gateway->is_v4() ? "IPv4" : "IPv6") + " exists already; left as is, not via " + gateway->to_string());
        } else if (e != 0) {
            fail(interface, "default route via " + gateway->to_string(), e);
        }
    }
    return warnings;
}

}  // namespace meshgate::dataplane
