#include "netlink/host_routes.h"

// <net/if.h> before the <linux/...> headers: they then skip what it already defines.
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace meshgate::netlink {

namespace {

[[noreturn]] void fail(const std::string& device, const std::string& step, int error) {
    throw std::runtime_error("route interface " + device + ": " + step + ": " + std::strerror(error));
}

}  // namespace

HostRoutes::HostRoutes(std::string device, uint32_t table, Kind kind) : device_(std::move(device)), table_(table), kind_(kind) {
    fd_ = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail(device_, "open /dev/net/tun", errno);
    ifreq request{};
    std::strncpy(request.ifr_name, device_.c_str(), IFNAMSIZ - 1);
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (::ioctl(fd_, TUNSETIFF, &request) < 0) {
        const int e = errno;
        ::close(fd_);
        if (e == EBUSY || e == EINVAL || e == EPERM) {
            fail(device_, "the name is taken (another meshgated announcing on this node, or another interface)", e);
        }
        fail(device_, "create", e);
    }
    index_ = if_nametoindex(device_.c_str());
    if (int e = index_ == 0 ? errno : nl_.set_link_up(index_)) {
        ::close(fd_);
        fail(device_, "bring up", e);
    }
}

HostRoutes::~HostRoutes() {
    if (fd_ >= 0) ::close(fd_);
}

int HostRoutes::change(uint16_t type, const IpAddress& address) {
    nlmsghdr* h = nl_.start(type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_REPLACE : 0);
    auto* r = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(h, sizeof(rtmsg)));
    r->rtm_family = address.is_v4() ? AF_INET : AF_INET6;
    r->rtm_dst_len = static_cast<unsigned char>(address.size() * 8);
    r->rtm_table = static_cast<unsigned char>(table_ < 256 ? table_ : uint32_t{RT_TABLE_UNSPEC});
    r->rtm_protocol = protocol;
    r->rtm_scope = kind_ == Kind::local ? RT_SCOPE_HOST : RT_SCOPE_LINK;
    r->rtm_type = kind_ == Kind::local ? RTN_LOCAL : RTN_UNICAST;
    mnl_attr_put_u32(h, RTA_TABLE, table_);
    mnl_attr_put(h, RTA_DST, address.size(), address.bytes().data());
    mnl_attr_put_u32(h, RTA_OIF, index_);
    return nl_.request(h);
}

std::vector<std::string> HostRoutes::set(const std::set<IpAddress>& addresses) {
    std::vector<std::string> errors;
    for (auto it = routes_.begin(); it != routes_.end();) {
        if (addresses.count(*it)) {
            ++it;
            continue;
        }
        const int e = change(RTM_DELROUTE, *it);
        if (e != 0 && e != ESRCH) {
            errors.push_back("withdraw " + it->to_string() + ": " + std::strerror(e));
            ++it;
        } else {
            it = routes_.erase(it);
        }
    }
    for (const auto& a : addresses) {
        if (routes_.count(a)) continue;
        if (const int e = change(RTM_NEWROUTE, a)) {
            errors.push_back("announce " + a.to_string() + ": " + std::strerror(e));
        } else {
            routes_.insert(a);
        }
    }
    return errors;
}

}  // namespace meshgate::netlink
