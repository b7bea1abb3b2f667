// The announced routes against the real kernel, in a network namespace of the test's own
// (each case runs in a child process that unshares one; the host's tables are never touched).
#include "netlink/announce_routes.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
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

TEST(AnnounceRoutes, HostRoutesOfBothFamiliesFollowTheSetAndDieWithTheInterface) {
    in_own_namespace([] {
        {
            AnnounceRoutes routes("mg-announce", 100);
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
                AnnounceRoutes second("mg-announce", 100);
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

TEST(AnnounceRoutes, TablesAboveTheOldByteRangeWork) {
    in_own_namespace([] {
        AnnounceRoutes routes("mg-announce", 4242);
        if (!routes.set({*IpAddress::parse("10.96.0.10")}).empty()) return 1;
        if (run("ip route show table 4242").find("10.96.0.10 dev mg-announce") == std::string::npos) return 2;
        return 0;
    });
}

}  // namespace
}  // namespace meshgate::netlink
