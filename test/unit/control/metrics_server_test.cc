// The metrics endpoint: request heads, and real HTTP clients on loopback.
#include "control/metrics_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

namespace meshgate::control {
namespace {

TEST(RequestHead, GetAndHeadOfAPath) {
    auto r = parse_request_head("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", 8192);
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.path, "/metrics");
    EXPECT_FALSE(r.head);
    EXPECT_TRUE(parse_request_head("HEAD /readyz HTTP/1.0\r\n\r\n", 8192).head);
}

TEST(RequestHead, IncompleteMalformedWrongMethodTooLarge) {
    EXPECT_FALSE(parse_request_head("GET /metrics HTTP/1.1\r\nHost:", 8192).complete);
    EXPECT_EQ(parse_request_head("GET /metrics\r\n\r\n", 8192).status, 400);
    EXPECT_EQ(parse_request_head("GET metrics HTTP/1.1\r\n\r\n", 8192).status, 400);
    EXPECT_EQ(parse_request_head("GET /a HTTP/2.0\r\n\r\n", 8192).status, 400);
    EXPECT_EQ(parse_request_head("\r\n\r\n", 8192).status, 400);
    EXPECT_EQ(parse_request_head("POST /metrics HTTP/1.1\r\n\r\n", 8192).status, 405);
    EXPECT_EQ(parse_request_head(std::string(9000, 'a'), 8192).status, 431);
}

std::string fetch(uint16_t port, const std::string& request, MetricsServer& server) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    send(fd, request.data(), request.size(), 0);
    std::string out;
    for (int i = 0; i < 2000; ++i) {
        server.poll();
        char buffer[4096];
        const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n > 0) out.append(buffer, static_cast<size_t>(n));
        if (n == 0) break;
        usleep(500);
    }
    close(fd);
    return out;
}

TEST(MetricsServer, AnswersOverHttp) {
    MetricsServer server(*SocketAddress::parse("127.0.0.1:0"), [](const std::string& path) -> HttpAnswer {
        if (path == "/metrics") return {200, "text/plain; version=0.0.4", "meshgate_up 1\n"};
        return {404, "text/plain", "no\n"};
    });
    const auto ok = fetch(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", server);
    EXPECT_EQ(ok.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << ok;
    EXPECT_NE(ok.find("Content-Length: 14\r\n"), std::string::npos);
    EXPECT_NE(ok.find("\r\n\r\nmeshgate_up 1\n"), std::string::npos);
    EXPECT_EQ(fetch(server.port(), "GET /nope HTTP/1.1\r\n\r\n", server).rfind("HTTP/1.1 404", 0), 0u);
    EXPECT_EQ(fetch(server.port(), "DELETE / HTTP/1.1\r\n\r\n", server).rfind("HTTP/1.1 405", 0), 0u);
    EXPECT_EQ(fetch(server.port(), "\x16\x03\x01\x02\x01\r\n\r\n", server).rfind("HTTP/1.1 400", 0), 0u);
    const auto head = fetch(server.port(), "HEAD /metrics HTTP/1.1\r\n\r\n", server);
    EXPECT_EQ(head.find("meshgate_up"), std::string::npos) << "HEAD has no body";
}

}  // namespace
}  // namespace meshgate::control
