// The admin socket against real Unix-socket clients: framing, deferred replies, limits, and
// clients that misbehave. The server is polled from the test thread, as the control thread does.
#include "control/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "control/unix_listener.h"

namespace meshgate::control {
namespace {

class TempDir {
public:
    TempDir() {
        char pattern[] = "/tmp/meshgate-admin-XXXXXX";
        path_ = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

int connect_to(const std::string& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
    return fd;
}

void send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        ASSERT_GT(n, 0);
        sent += static_cast<size_t>(n);
    }
}

// Polls the server until `fd` has a whole line (or closes); returns it without the newline,
// or "<closed>" / "<timeout>".
std::string read_line(AdminServer& server, int fd, uint64_t visible = 0, int max_rounds = 2000) {
    std::string line;
    for (int round = 0; round < max_rounds; ++round) {
        server.poll(visible);
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 1) <= 0) continue;
        char c;
        while (recv(fd, &c, 1, MSG_DONTWAIT) == 1) {
            if (c == '\n') return line;
            line += c;
        }
        if (recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0) return "<closed>";
    }
    return "<timeout>";
}

bool closed_by_server(AdminServer& server, int fd) {
    for (int round = 0; round < 2000; ++round) {
        server.poll(0);
        char buffer[4096];
        const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0 && errno != EAGAIN) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

AdminReply echo(std::string_view request) {
    AdminReply reply;
    if (request == "later") {
        reply.after_generation = 5;
        reply.render = [] { return std::string("{\"late\":true}"); };  // made when visible
    } else if (request == "big") {
        reply.line = "{\"big\":\"" + std::string(1 << 20, 'x') + "\"}";
    } else {
        reply.line = "{\"echo\":\"" + std::string(request) + "\"}";
    }
    return reply;
}

struct Fixture {
    TempDir dir;
    UnixListener listener{dir / "admin.sock", 0600, ""};
    AdminServer server;
    explicit Fixture(AdminLimits limits = {}) : server(listener.fd(), echo, limits) {}
};

TEST(AdminServer, OneLineInOneLineOutInOrder) {
    Fixture f;
    const int fd = connect_to(f.listener.path());
    send_all(fd, "a\nb\r\n\nc\n");
    EXPECT_EQ(read_line(f.server, fd), "{\"echo\":\"a\"}");
    EXPECT_EQ(read_line(f.server, fd), "{\"echo\":\"b\"}") << "CRLF is accepted";
    EXPECT_EQ(read_line(f.server, fd), "{\"echo\":\"c\"}") << "an empty line is skipped";
    close(fd);
}

TEST(AdminServer, AReplyWaitsForItsGenerationAndHoldsBackTheNext) {
    Fixture f;
    const int fd = connect_to(f.listener.path());
    send_all(fd, "later\nafter\n");
    EXPECT_EQ(read_line(f.server, fd, 4, 50), "<timeout>") << "generation 5 is not visible yet";
    EXPECT_EQ(read_line(f.server, fd, 5), "{\"late\":true}");
    EXPECT_EQ(read_line(f.server, fd, 5), "{\"echo\":\"after\"}");
    close(fd);
}

TEST(AdminServer, HalfClosedClientStillGetsItsAnswer) {
    Fixture f;
    const int fd = connect_to(f.listener.path());
    send_all(fd, "last");  // no newline, then EOF
    shutdown(fd, SHUT_WR);
    EXPECT_EQ(read_line(f.server, fd), "{\"echo\":\"last\"}");
    EXPECT_TRUE(closed_by_server(f.server, fd));
    close(fd);
}

TEST(AdminServer, OversizedRequestGetsAnErrorAndACleanClose) {
    AdminLimits limits;
    limits.max_request = 1024;
    Fixture f(limits);
    const int fd = connect_to(f.listener.path());
    send_all(fd, std::string(5000, 'x'));
    const auto line = read_line(f.server, fd);
    EXPECT_NE(line.find("request_too_large"), std::string::npos) << line;
    EXPECT_TRUE(closed_by_server(f.server, fd));
    close(fd);
    // The server still serves others.
    const int other = connect_to(f.listener.path());
    send_all(other, "ok\n");
    EXPECT_EQ(read_line(f.server, other), "{\"echo\":\"ok\"}");
    close(other);
}

TEST(AdminServer, ANeverReadingClientStallsNobodyAndIsDropped) {
    AdminLimits limits;
    limits.write_timeout = std::chrono::seconds(1);
    Fixture f(limits);
    const int hog = connect_to(f.listener.path());
    std::string many;
    for (int i = 0; i < 64; ++i) many += "big\n";  // 64 MB of replies it never reads
    send_all(hog, many);
    const int silent = connect_to(f.listener.path());  // connects, sends nothing
    const int fine = connect_to(f.listener.path());
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        send_all(fine, "ping\n");
        EXPECT_EQ(read_line(f.server, fine), "{\"echo\":\"ping\"}");
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "other clients are served while the hog sits";
    // Keep not reading: the server gives up on it after the write timeout.
    for (int i = 0; i < 2000 && f.server.counters().closed_timeout == 0; ++i) {
        f.server.poll(0);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(f.server.counters().closed_timeout, 1u) << "dropped after the write timeout";
    EXPECT_TRUE(closed_by_server(f.server, hog));
    send_all(fine, "still\n");
    EXPECT_EQ(read_line(f.server, fine), "{\"echo\":\"still\"}");
    close(hog);
    close(silent);
    close(fine);
}

TEST(AdminServer, ClientsBeyondTheCapAreTurnedAwayWithAReason) {
    AdminLimits limits;
    limits.max_clients = 2;
    Fixture f(limits);
    const int a = connect_to(f.listener.path()), b = connect_to(f.listener.path());
    f.server.poll(0);
    const int c = connect_to(f.listener.path());
    const auto line = read_line(f.server, c);
    EXPECT_NE(line.find("\"busy\""), std::string::npos) << line;
    EXPECT_EQ(f.server.clients(), 2u);
    close(a);
    send_all(b, "x\n");
    EXPECT_EQ(read_line(f.server, b), "{\"echo\":\"x\"}");
    close(b);
    close(c);
}

TEST(UnixListener, CreatesWithTheModeAndRemovesOnExit) {
    TempDir dir;
    const auto path = dir / "run/admin.sock";
    {
        UnixListener l(path, 0660, "");
        struct stat st{};
        ASSERT_EQ(lstat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0660u);
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(UnixListener, ReplacesAStaleSocketButNeverALiveOne) {
    TempDir dir;
    const auto path = dir / "admin.sock";
    {
        // A socket file nobody listens on: what a SIGKILLed daemon leaves.
        const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        close(fd);
    }
    UnixListener first(path, 0600, "");
    try {
        UnixListener second(path, 0600, "");
        ADD_FAILURE() << "took over a live socket";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("another meshgated is running"), std::string::npos) << e.what();
    }
    const int fd = connect_to(path);  // the first still owns it
    close(fd);
}

TEST(UnixListener, RefusesSymlinksAndOtherFiles) {
    TempDir dir;
    const auto target = dir / "elsewhere";
    std::ofstream(target) << "precious";
    const auto link = dir / "link.sock";
    std::filesystem::create_symlink(target, link);
    EXPECT_THROW(UnixListener(link, 0600, ""), std::runtime_error);
    EXPECT_THROW(UnixListener(target, 0600, ""), std::runtime_error);
    std::ifstream in(target);
    std::string content;
    in >> content;
    EXPECT_EQ(content, "precious") << "nothing was followed or overwritten";
    EXPECT_THROW(UnixListener(dir / "admin.sock", 0600, "no-such-group-meshgate"), std::runtime_error);
    EXPECT_FALSE(std::filesystem::exists(dir / "admin.sock")) << "a failed start leaves no socket behind";
}

}  // namespace
}  // namespace meshgate::control
