#include "hbone/connect_target.h"

#include <gtest/gtest.h>

namespace meshgate::hbone {
namespace {

const std::vector<std::string> bookinfo_client = {"spiffe://cluster.local/ns/bookinfo/sa/reviews"};
const std::vector<std::string> other_client = {"spiffe://cluster.local/ns/other/sa/x"};

Config waypoint_config() {
    Config c;
    c.node.name = "gw";
    Service productpage;
    productpage.name = "productpage";
    productpage.ns = "bookinfo";
    productpage.vips = {*IpAddress::parse("10.96.0.10"), *IpAddress::parse("fd96::10")};
    productpage.ports = {{9080, 9080, Protocol::tcp}, {53, 5353, Protocol::udp}};
    Service payments;
    payments.kind = ServiceKind::service_entry;
    payments.name = "payments";
    payments.ns = "shop";
    payments.hosts = {"payments.example.internal"};
    payments.vips = {*IpAddress::parse("10.96.1.20")};
    payments.ports = {{443, 8443, Protocol::tcp}};
    c.services = {productpage, payments};
    Endpoint a, b;
    a.service = b.service = "bookinfo/productpage";
    a.address = *IpAddress::parse("10.1.0.11");
    b.address = *IpAddress::parse("fd01::11");
    b.port = 9443;
    c.endpoints = {a, b};
    HboneConfig hbone;
    hbone.authorization = {{"bookinfo/productpage", {"spiffe://cluster.local/ns/bookinfo/sa/*"}}};
    c.hbone = hbone;
    return c;
}

TEST(Authority, AddressesNamesAndPorts) {
    auto a = Authority::parse("10.96.0.10:9080");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address, IpAddress::parse("10.96.0.10"));
    EXPECT_EQ(a->port, 9080);
    a = Authority::parse("[fd96::10]:443");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address, IpAddress::parse("fd96::10"));
    a = Authority::parse("ProductPage.bookinfo.svc.cluster.local:9080");
    ASSERT_TRUE(a);
    EXPECT_FALSE(a->address);
    EXPECT_EQ(a->hostname, "productpage.bookinfo.svc.cluster.local");
    for (const char* bad : {"", "10.96.0.10", ":80", "10.96.0.10:", "10.96.0.10:0", "10.96.0.10:65536", "10.96.0.10:080",
                            "10.96.0.10:8o", "fd96::10:80", "[fd96::10]", "[10.0.0.1]:80", "[fd96::10:80", "web_x:80",
                            "a b:80", "host:-1"}) {
        EXPECT_FALSE(Authority::parse(bad)) << bad;
    }
}

TEST(DecideConnect, AServiceByVipOrNameTheEngineThenPicksTheEndpoint) {
    const Config c = waypoint_config();
    for (const char* authority : {"10.96.0.10:9080", "[fd96::10]:9080", "productpage.bookinfo.svc.cluster.local:9080"}) {
        const auto d = decide_connect(c, "CONNECT", authority, bookinfo_client);
        EXPECT_EQ(d.status, 200) << authority << ": " << d.reason;
        EXPECT_EQ(d.service, 0u);
        EXPECT_EQ(d.service_port, 9080);
        EXPECT_EQ(d.target_port, 9080);
        EXPECT_FALSE(d.endpoint);
    }
    const auto entry = decide_connect(c, "CONNECT", "payments.example.internal:443", other_client);
    EXPECT_EQ(entry.status, 200) << entry.reason;
    EXPECT_EQ(entry.service, 1u);
    EXPECT_EQ(entry.target_port, 8443);
}

TEST(DecideConnect, AnEndpointByItsAddressAndPort) {
    const Config c = waypoint_config();
    auto d = decide_connect(c, "CONNECT", "10.1.0.11:9080", bookinfo_client);  // the service port's target_port
    EXPECT_EQ(d.status, 200) << d.reason;
    EXPECT_EQ(d.endpoint, 0u);
    EXPECT_EQ(d.service, 0u);
    d = decide_connect(c, "CONNECT", "[fd01::11]:9443", bookinfo_client);  // its own port
    EXPECT_EQ(d.status, 200) << d.reason;
    EXPECT_EQ(d.endpoint, 1u);
    EXPECT_EQ(decide_connect(c, "CONNECT", "[fd01::11]:9080", bookinfo_client).status, 503) << "not the port it serves on";
}

TEST(DecideConnect, BadRequestsGet400) {
    const Config c = waypoint_config();
    const auto get = decide_connect(c, "GET", "10.96.0.10:9080", bookinfo_client);
    EXPECT_EQ(get.status, 400);
    EXPECT_NE(get.reason.find("not CONNECT"), std::string::npos);
    EXPECT_EQ(decide_connect(c, "CONNECT", "10.96.0.10", bookinfo_client).status, 400);
    EXPECT_EQ(decide_connect(c, "CONNECT", "", bookinfo_client).status, 400);
}

TEST(DecideConnect, NothingHereAnswersGets503) {
    const Config c = waypoint_config();
    for (const char* authority : {"10.96.0.10:9999", "10.96.0.10:53" /* UDP only */, "10.96.0.99:9080",
                                  "reviews.bookinfo.svc.cluster.local:9080", "payments.example.internal:80"}) {
        const auto d = decide_connect(c, "CONNECT", authority, bookinfo_client);
        EXPECT_EQ(d.status, 503) << authority;
        EXPECT_NE(d.reason.find("no service or endpoint"), std::string::npos) << d.reason;
    }
}

TEST(DecideConnect, AuthorizationRulesGive401AfterTheTargetIsFound) {
    const Config c = waypoint_config();
    const auto denied = decide_connect(c, "CONNECT", "10.96.0.10:9080", other_client);
    EXPECT_EQ(denied.status, 401);
    EXPECT_NE(denied.reason.find("spiffe://cluster.local/ns/other/sa/x"), std::string::npos) << denied.reason;
    EXPECT_EQ(decide_connect(c, "CONNECT", "10.1.0.11:9080", other_client).status, 401) << "by endpoint address too";
    EXPECT_EQ(decide_connect(c, "CONNECT", "10.96.0.10:9080", {}).status, 401);
    EXPECT_EQ(decide_connect(c, "CONNECT", "payments.example.internal:443", other_client).status, 200) << "no rule: allowed";
    EXPECT_EQ(decide_connect(c, "CONNECT", "10.96.0.99:9080", other_client).status, 503) << "an unknown target is 503 first";
}

}  // namespace
}  // namespace meshgate::hbone
