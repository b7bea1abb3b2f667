// Host routes (announced and local) against the real kernel, in a network namespace of the test's own
// (each case runs in a child process that unshares one; the host's tables are never touched).
#include "netlink/host_routes.h"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace meshgate::netlink {
namespace {

std::string run(const std::string& command) {
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buffer[512];
        while (fgets(buffer, sizeof buffer, p)) out += buffer;
        pclose(p);
    }
    return out;
}

std::string table(const char* family) { return run(std::string("ip ") + family + " route show table 100 2>&1"); }

// Runs `body` in a child in a new network namespace; its failures are the child's exit status.
void in_own_namespace(const std::function<int()>& body) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (unshare(CLONE_NEWNET) != 0) _exit(90);
        int rc = 91;
        try {
            rc = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
        }
        _exit(rc);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "failed check number " << WEXITSTATUS(status) << " in the child";
}

TEST(HostRoutes, HostRoutesOfBothFamiliesFollowTheSetAndDieWithTheInterface) {
    in_own_namespace([] {
        {
            HostRoutes routes("mg-announce", 100);
            const auto v4 = *IpAddress::parse("10.96.0.10"), v6 = *IpAddress::parse("fd96::10"), snat = *IpAddress::parse("10.99.51.1");
            if (!routes.set({v4, v6, snat}).empty()) return 1;
            if (table("-4").find("10.96.0.10 dev mg-announce proto 200") == std::string::npos) return 2;
            if (table("-4").find("10.99.51.1 dev mg-announce") == std::string::npos) return 3;
            if (table("-6").find("fd96::10 dev mg-announce proto 200") == std::string::npos) return 4;
            if (run("ip route show table main").find("10.96.0.10") != std::string::npos) return 5;  // only table 100
            if (!routes.set({snat}).empty() || routes.routes().size() != 1) return 6;
            if (table("-4").find("10.96.0.10") != std::string::npos || table("-6").find("fd96::10") != std::string::npos) return 7;
            if (table("-4").find("10.99.51.1") == std::string::npos) return 8;
            // A second announcer on the same interface name is refused, naming it.
            try {
                HostRoutes second("mg-announce", 100);
                return 9;
            } catch (const std::runtime_error& e) {
                if (std::string(e.what()).find("mg-announce") == std::string::npos) return 10;
            }
        }
        // Gone with the object (as with a killed process): the interface and its routes.
        if (!table("-4").empty() || !table("-6").empty()) return 11;
        if (run("ip link show mg-announce 2>&1").find("does not exist") == std::string::npos) return 12;
        return 0;
    });
}

TEST(HostRoutes, TablesAboveTheOldByteRangeWork) {
    in_own_namespace([] {
        HostRoutes routes("mg-announce", 4242);
        if (!routes.set({*IpAddress::parse("10.96.0.10")}).empty()) return 1;
        if (run("ip route show table 4242").find("10.96.0.10 dev mg-announce") == std::string::npos) return 2;
        return 0;
    });
}

// Whether a TCP socket can bind `address` without IP_FREEBIND: only a local address can.
bool binds(const IpAddress& address, uint16_t port) {
    const int fd = socket(address.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM, 0);
    sockaddr_storage s{};
    socklen_t length = 0;
    if (address.is_v4()) {
        auto* a = reinterpret_cast<sockaddr_in*>(&s);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        std::memcpy(&a->sin_addr, address.bytes().data(), 4);
        length = sizeof *a;
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&s);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        std::memcpy(&a->sin6_addr, address.bytes().data(), 16);
        length = sizeof *a;
    }
    const bool ok = bind(fd, reinterpret_cast<const sockaddr*>(&s), length) == 0;
    close(fd);
    return ok;
}

TEST(HostRoutes, LocalRoutesMakeAddressesTheNodesWhileTheyLast) {
    in_own_namespace([] {
        run("ip link set lo up");
        const auto v4 = *IpAddress::parse("10.96.0.40"), v6 = *IpAddress::parse("fd96::40");
        if (binds(v4, 9080)) return 1;  // not the node's yet
        {
            HostRoutes vips("mg-vips", 255, HostRoutes::Kind::local);
            if (!vips.set({v4, v6}).empty()) return 2;
            if (run("ip route show table local").find("local 10.96.0.40 dev mg-vips proto 200") == std::string::npos) return 3;
            if (run("ip -6 route show table local").find("local fd96::40 dev mg-vips proto 200") == std::string::npos) return 4;
            // Delivered here: IPv4 even lets a plain bind() have it (IPv6 wants IPV6_FREEBIND).
            if (!binds(v4, 9080)) return 5;
            if (run("ip -6 route get fd96::40").rfind("local fd96::40", 0) != 0) return 6;
            if (!vips.set({v6}).empty() || binds(v4, 9080)) return 7;
        }
        if (run("ip -6 route get fd96::40 2>&1").rfind("local", 0) == 0) return 8;  // gone with the interface
        return 0;
    });
}

}  // namespace
}  // namespace meshgate::netlink
