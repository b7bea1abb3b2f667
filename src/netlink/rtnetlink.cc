#include "netlink/rtnetlink.h"

// <net/if.h> before the <linux/...> headers: they then skip what it already defines.
#include <net/if.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

namespace meshgate::netlink {

Rtnetlink::Rtnetlink()
    : socket_(mnl_socket_open(NETLINK_ROUTE), &mnl_socket_close), sequence_(static_cast<uint32_t>(time(nullptr))) {
    if (!socket_ || mnl_socket_bind(socket_.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        throw std::runtime_error(std::string("rtnetlink: ") + std::strerror(errno));
    }
}

nlmsghdr* Rtnetlink::start(uint16_t type, uint16_t flags) {
    nlmsghdr* h = mnl_nlmsg_put_header(buffer_);
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | flags);
    h->nlmsg_seq = ++sequence_;
    return h;
}

int Rtnetlink::request(nlmsghdr* h) {
    if (mnl_socket_sendto(socket_.get(), h, h->nlmsg_len) < 0) return errno;
    const ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer_, sizeof buffer_);
    if (n < 0) return errno;
    const int rc = mnl_cb_run(buffer_, static_cast<size_t>(n), sequence_, mnl_socket_get_portid(socket_.get()), nullptr, nullptr);
    return rc < 0 ? errno : 0;
}

int Rtnetlink::set_link_up(unsigned index, uint32_t mtu) {
    nlmsghdr* h = start(RTM_NEWLINK, 0);
    auto* link = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(h, sizeof(ifinfomsg)));
    link->ifi_family = AF_UNSPEC;
    link->ifi_index = static_cast<int>(index);
    link->ifi_flags = IFF_UP;
    link->ifi_change = IFF_UP;
    if (mtu != 0) mnl_attr_put_u32(h, IFLA_MTU, mtu);
    return request(h);
}

}  // namespace meshgate::netlink
