#include "config/load_config.h"

#include <fstream>

#include <gtest/gtest.h>

namespace meshgate::config {
namespace {

const std::string node = "[node]\nname = \"gw-1\"\ncluster = \"c1\"\nnetwork = \"net-1\"\nregion = \"r1\"\nzone = \"z1\"\n";
const std::string service =
    "[[service]]\nname = \"web\"\nnamespace = \"shop\"\nvips = [\"10.96.0.1\"]\nports = [{ port = 80, target_port = 8080 }]\n";

LoadResult load(const std::string& text) { return load_config_string(text, "test.toml"); }

// The first error: its location, its key and its message.
struct Expect {
    std::string text;
    std::string location;  // "test.toml:LINE:COL"
    std::string key;
    std::string message_part;
};

void expect_error(const Expect& e) {
    auto r = load(e.text);
    EXPECT_FALSE(r.config.has_value()) << e.text;
    auto errors = r.diagnostics.errors();
    ASSERT_FALSE(errors.empty()) << e.text;
    const auto& d = errors.front();
    auto where = d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
    EXPECT_EQ(where, e.location) << d.to_string();
    EXPECT_EQ(d.key, e.key) << d.to_string();
    EXPECT_NE(d.message.find(e.message_part), std::string::npos) << d.to_string();
    const auto prefix = e.location + ": error: " + (e.key.empty() ? "" : e.key + ": ");
    EXPECT_EQ(d.to_string().rfind(prefix, 0), 0u) << d.to_string();
}

TEST(LoadConfig, AGoodFileLoadsWithDefaults) {
    auto r = load(node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.1\"\n");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_TRUE(r.diagnostics.items.empty());
    const auto& c = *r.config;
    EXPECT_EQ(c.node.name, "gw-1");
    EXPECT_EQ(c.node.cluster_domain, "cluster.local");
    EXPECT_EQ(c.lb.maglev_table_size, 65537u);
    EXPECT_EQ(c.lb.overprovisioning_factor, 140u);
    EXPECT_EQ(c.admin.socket, "/run/meshgate/admin.sock");
    ASSERT_EQ(c.services.size(), 1u);
    EXPECT_EQ(c.services[0].ports[0].target_port, 8080);
    EXPECT_EQ(c.services[0].ports[0].protocol, Protocol::tcp);
    ASSERT_EQ(c.endpoints.size(), 1u);
    EXPECT_EQ(c.endpoints[0].weight, 1u);
    EXPECT_TRUE(c.endpoints[0].healthy);
}

TEST(LoadConfig, UnknownKeyNamesTheClosestKnownKey) {
    expect_error({node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.1\"\nlocality = { zone = \"z1\", regon = \"r1\" }\n",
                  "test.toml:15:27", "endpoint[0].locality.regon", "did you mean 'region'?"});
}

TEST(LoadConfig, UnknownTopLevelSection) {
    expect_error({node + "[loadbalancer]\nspillover = \"strict\"\n", "test.toml:7:1", "loadbalancer", "unknown key"});
}

TEST(LoadConfig, UnknownKeyInNode) {
    expect_error({node + "zoen = \"z2\"\n", "test.toml:7:1", "node.zoen", "did you mean 'zone'?"});
}

TEST(LoadConfig, WrongType) {
    expect_error({node + "[lb]\npanic_threshold = \"10\"\n", "test.toml:8:1", "lb.panic_threshold", "expected an integer"});
}

TEST(LoadConfig, BadAddress) {
    expect_error({node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.300\"\n", "test.toml:14:1",
                  "endpoint[0].address", "expected an IPv4 or IPv6 address, found \"10.1.0.300\""});
}

TEST(LoadConfig, BadVip) {
    expect_error({node + "[[service]]\nname = \"web\"\nnamespace = \"shop\"\nvips = [\"10.96.0.1\", \"vip\"]\nports = [{ port = 80 }]\n",
                  "test.toml:10:22", "service[0].vips", "found \"vip\""});
}

TEST(LoadConfig, DuplicateVipPort) {
    expect_error({node + service + "[[service]]\nname = \"api\"\nnamespace = \"shop\"\nvips = [\"10.96.0.1\"]\nports = [{ port = 80 }]\n",
                  "test.toml:15:1", "service[1].vips", "already used by service shop/web"});
}

TEST(LoadConfig, EndpointOfUnknownService) {
    expect_error({node + service + "[[endpoint]]\nservice = \"shop/wbe\"\naddress = \"10.1.0.1\"\n", "test.toml:13:1",
                  "endpoint[0].service", "no service or service_entry \"shop/wbe\""});
}

TEST(LoadConfig, NonPrimeTableSize) {
    expect_error({node + "[lb]\nmaglev_table_size = 65536\n", "test.toml:8:1", "lb.maglev_table_size",
                  "nearest primes are 65521 and 65537"});
}

TEST(LoadConfig, WeightOutOfRange) {
    expect_error({node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.1\"\nweight = -1\n",
                  "test.toml:15:1", "endpoint[0].weight", "expected an integer from 0 to 1000000, found -1"});
}

TEST(LoadConfig, BadDuration) {
    expect_error({node + service + "[[health_check]]\nservice = \"shop/web\"\ninterval = \"10\"\n", "test.toml:14:1",
                  "health_check[0].interval", "with a unit"});
}

TEST(LoadConfig, BadEnumValue) {
    expect_error({node + "[lb]\nspillover = \"gradual\"\n", "test.toml:8:1", "lb.spillover",
                  "expected one of \"graded\", \"strict\""});
}

TEST(LoadConfig, BadProtocolInsideInlineTable) {
    expect_error({node + "[[service]]\nname = \"web\"\nnamespace = \"shop\"\nports = [{ port = 53, protocol = \"sctp\" }]\n",
                  "test.toml:10:23", "service[0].ports[0].protocol", "expected one of \"tcp\", \"udp\""});
}

TEST(LoadConfig, PortOutOfRange) {
    expect_error({node + "[[service]]\nname = \"web\"\nnamespace = \"shop\"\nports = [{ port = 70000 }]\n", "test.toml:10:12",
                  "service[0].ports[0].port", "from 1 to 65535"});
}

TEST(LoadConfig, MissingRequiredKey) {
    expect_error({node + "[[service]]\nname = \"web\"\nports = [{ port = 80 }]\n", "test.toml:7:1", "service[0].namespace",
                  "required key is missing"});
}

TEST(LoadConfig, UnknownWaypoint) {
    expect_error({node + service + "waypoint = \"shop/wp\"\n", "test.toml:12:1", "service[0].waypoint",
                  "no service \"shop/wp\""});
}

TEST(LoadConfig, TimeoutLongerThanInterval) {
    expect_error({node + service + "[[health_check]]\nservice = \"shop/web\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
                  "test.toml:15:1", "health_check[0].timeout", "longer than the interval"});
}

TEST(LoadConfig, DuplicateDestinationRuleHost) {
    expect_error({node + service + "[[destination_rule]]\nhost = \"web\"\n[[destination_rule]]\nhost = \"web\"\n",
                  "test.toml:15:1", "destination_rule[1].host", "already targets host \"web\""});
}

TEST(LoadConfig, DistributeWeightOutOfRange) {
    expect_error({node + service +
                      "[[destination_rule]]\nhost = \"web\"\n[destination_rule.traffic_policy.load_balancer.locality_lb_setting]\n"
                      "distribute = [{ from = \"r1/*\", to = { \"r1/*\" = 180 } }]\n",
                  "test.toml:15:39", "destination_rule[0].traffic_policy.load_balancer.locality_lb_setting.distribute[0].to.\"r1/*\"",
                  "expected a weight from 0 to 100"});
}

TEST(LoadConfig, GatewayOffLink) {
    expect_error({node + "[[dataplane.port]]\nname = \"wan0\"\ndevice = \"net_tap0\"\naddresses = [\"10.10.0.2/24\"]\ngateway = \"10.20.0.1\"\n",
                  "test.toml:11:1", "dataplane.port[0].gateway", "on none of this port's addresses"});
}

TEST(LoadConfig, BadFlowTimeout) {
    expect_error({node + "[dataplane.flow_timeouts]\nudp = \"forever\"\n", "test.toml:8:1", "dataplane.flow_timeouts.udp",
                  "with a unit"});
}

TEST(LoadConfig, FlowTimeoutPastWhatAFlowRecordCounts) {
    expect_error({node + "[dataplane.flow_timeouts]\ntcp_established = \"200h\"\n", "test.toml:8:1",
                  "dataplane.flow_timeouts.tcp_established", "at most \"120h\""});
}

TEST(LoadConfig, BadSocketMode) {
    expect_error({node + "[admin]\nsocket_mode = \"0986\"\n", "test.toml:8:1", "admin.socket_mode", "octal"});
}

TEST(LoadConfig, AnnounceTableOfTheKernelIsRefused) {
    expect_error({node + "[announce]\ntable = 254\n", "test.toml:8:1", "announce.table", "the kernel's own"});
    expect_error({node + "[announce]\ntable = 100\ndevice = \"a-name-far-too-long\"\n", "test.toml:9:1", "announce.device",
                  "1 to 15 characters"});
    expect_error({node + "[announce]\ntable = 100\ndrain_quiet = 2\n", "test.toml:9:1", "announce.drain_quiet", ""});
}

TEST(LoadConfig, AnnouncePeersAreAddressesOfOneFamily) {
    expect_error({node + "[announce]\npeers = [\"10.0.0.2\", \"fd00::2\"]\n", "test.toml:8:1", "announce.peers", "one family"});
    expect_error({node + "[announce]\npeers = [\"10.0.0.2\", \"gw-2\"]\n", "test.toml:8:22", "announce.peers", "IPv4 or IPv6"});
    auto r = load(node + "[announce]\npeers = [\"10.0.0.3\", \"10.0.0.2\"]\n");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_EQ(r.config->announce.peers, (std::vector<IpAddress>{*IpAddress::parse("10.0.0.3"), *IpAddress::parse("10.0.0.2")}));
    EXPECT_FALSE(r.config->announce.enabled()) << "second chance works with or without announced routes";
}

TEST(LoadConfig, PortMtuIsWithinWhatIpAndNicsCarry) {
    const std::string port = node + "[[dataplane.port]]\nname = \"wan0\"\ndevice = \"net_tap0\"\n";
    expect_error({port + "mtu = 576\n", "test.toml:10:1", "dataplane.port[0].mtu", ""});
    auto r = load(port + "mtu = 1600\n");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_EQ(r.config->dataplane.ports[0].mtu, 1600);
    EXPECT_EQ(load(port).config->dataplane.ports[0].mtu, 0) << "the device's own unless set";
}

TEST(LoadConfig, IdleSleepIsBounded) {
    expect_error({node + "[dataplane]\nidle_sleep = \"1s\"\n", "test.toml:8:1", "dataplane.idle_sleep", "at most"});
    auto r = load(node + "[dataplane]\nidle_sleep = \"50us\"\n");
    ASSERT_TRUE(r.config.has_value());
    EXPECT_EQ(r.config->dataplane.idle_sleep, std::chrono::microseconds(50));
    EXPECT_EQ(load(node).config->dataplane.idle_sleep, Duration{}) << "polls without pause unless asked";
}

TEST(LoadConfig, AnnounceIsOffUnlessATableIsGiven) {
    auto off = load(node);
    ASSERT_TRUE(off.config.has_value());
    EXPECT_FALSE(off.config->announce.enabled());
    auto on = load(node + "[announce]\ntable = 100\nmin_healthy_endpoints = 2\ndrain_timeout = \"30s\"\n");
    ASSERT_TRUE(on.config.has_value());
    EXPECT_TRUE(on.config->announce.enabled());
    EXPECT_EQ(on.config->announce.device, "mg-announce");
    EXPECT_EQ(on.config->announce.min_healthy_endpoints, 2u);
    EXPECT_EQ(on.config->announce.drain_timeout, std::chrono::seconds(30));
}

TEST(LoadConfig, SyntaxErrorPointsAtTheOffendingCharacter) {
    expect_error({node + "[lb]\nspillover = \"graded\n", "test.toml:8:13", "", "TOML syntax"});
}

TEST(LoadConfig, MissingNodeSection) {
    auto r = load(service);
    ASSERT_FALSE(r.config.has_value());
    EXPECT_EQ(r.diagnostics.errors().front().key, "node");
}

TEST(LoadConfig, CollectsEveryErrorNotJustTheFirst) {
    auto r = load(node + "[lb]\nspillover = \"x\"\npanic_threshold = 101\nmaglev_table_size = 4\n");
    EXPECT_EQ(r.diagnostics.errors().size(), 3u);
}

TEST(LoadConfig, DistributeWeightsNotSummingTo100IsAWarning) {
    auto r = load(node + service +
                  "[[destination_rule]]\nhost = \"web\"\n[destination_rule.traffic_policy.load_balancer.locality_lb_setting]\n"
                  "distribute = [{ from = \"r1/*\", to = { \"r1/*\" = 60 } }]\n");
    ASSERT_TRUE(r.config.has_value());
    ASSERT_EQ(r.diagnostics.warnings().size(), 1u);
    EXPECT_NE(r.diagnostics.warnings()[0].message.find("add up to 60"), std::string::npos);
}

TEST(LoadConfig, HboneForwardingWithoutAnHboneSectionIsAWarning) {
    const std::string tunnelled = service + "forwarding = \"hbone\"\n";
    auto r = load(node + tunnelled);
    ASSERT_TRUE(r.config.has_value());
    const auto warnings = r.diagnostics.warnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].key, "service[0].forwarding");
    EXPECT_NE(warnings[0].message.find("needs an [hbone] section"), std::string::npos) << warnings[0].message;
}

TEST(LoadConfig, AnHboneEndpointWithoutIdentityIsAWarning) {
    auto r = load(node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.11\"\nhbone = true\n");
    ASSERT_TRUE(r.config.has_value());
    const auto warnings = r.diagnostics.warnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].key, "endpoint[0].hbone");
    EXPECT_NE(warnings[0].message.find("needs its identity"), std::string::npos) << warnings[0].message;
    auto ok = load(node + service + "[[endpoint]]\nservice = \"shop/web\"\naddress = \"10.1.0.11\"\nhbone = true\n"
                                    "identity = \"spiffe://cluster.local/ns/shop/sa/web\"\n");
    EXPECT_TRUE(ok.diagnostics.warnings().empty());
}

TEST(LoadConfig, MoreFlowsThanSnatPortsIsAWarning) {
    auto r = load(node + "[dataplane]\nflow_table_size = 200000\n[[dataplane.port]]\nname = \"lan0\"\ndevice = \"net_tap1\"\n"
                         "addresses = [\"10.1.0.2/24\"]\nsnat = [\"10.1.0.3\"]\n");
    ASSERT_TRUE(r.config.has_value());
    const auto warnings = r.diagnostics.warnings();
    ASSERT_EQ(warnings.size(), 1u);
    const auto& w = warnings[0];
    EXPECT_EQ(w.key, "dataplane.port[0].snat");
    EXPECT_EQ(w.line, 13u);
    EXPECT_NE(w.message.find("at most 64512 concurrent flows"), std::string::npos) << w.message;
}

TEST(LoadConfig, FullExampleOfTheInterfaceContractLoads) {
    const std::string text = R"(
[node]
name = "gw-1"
cluster = "cluster-1"
network = "net-1"
region = "us-east"
zone = "us-east-1a"
labels = { rack = "r7" }
[admin]
socket = "/run/meshgate/admin.sock"
socket_mode = "0660"
[lb]
maglev_table_size = 65537
overprovisioning_factor = 140
spillover = "strict"
panic_threshold = 0
[dataplane]
lcores = "0-1"
memory_mb = 1024
hugepages = false
flow_table_size = 1048576
eal_args = ["--log-level=8"]
flow_timeouts = { tcp_syn = "5s", tcp_established = "1h", tcp_closing = "30s", tcp_closed = "2s", udp = "2m" }
[[dataplane.port]]
name = "wan0"
device = "net_tap0,iface=mg-wan0"
addresses = ["10.10.0.2/24", "fd00:10::2/64"]
gateway = "10.10.0.1"
snat = ["10.10.0.3"]
[[service]]
name = "productpage"
namespace = "bookinfo"
vips = ["10.96.0.10"]
ports = [{ port = 9080, target_port = 9080, protocol = "tcp" }]
traffic_distribution = "PreferClose"
internal_traffic_policy = "Cluster"
forwarding = "nat"
waypoint = "bookinfo/waypoint"
on_endpoint_down = "keep"
annotations = { "networking.istio.io/traffic-distribution" = "PreferNetwork" }
labels = { "solo.io/service-scope" = "global" }
[[service]]
name = "waypoint"
namespace = "bookinfo"
ports = [{ port = 15008 }]
[[service_entry]]
name = "payments"
namespace = "shop"
hosts = ["payments.example.internal"]
vips = ["10.96.1.20"]
ports = [{ port = 443, protocol = "tcp" }]
annotations = { "networking.istio.io/traffic-distribution" = "Any" }
[[endpoint]]
service = "bookinfo/productpage"
address = "10.1.0.11"
port = 9080
weight = 1
healthy = true
hbone = false
identity = "spiffe://cluster.local/ns/bookinfo/sa/productpage"
locality = { cluster = "cluster-1", network = "net-1", region = "us-east", zone = "us-east-1a", subzone = "", node = "node-3" }
labels = { version = "v1" }
[[network_gateway]]
network = "net-2"
address = "10.30.0.5"
port = 15008
identity = "spiffe://cluster.local/ns/istio-gateways/sa/eastwest"
[[destination_rule]]
host = "productpage.bookinfo.svc.cluster.local"
[destination_rule.traffic_policy.load_balancer.locality_lb_setting]
enabled = true
failover = [{ from = "us-east", to = "us-west" }]
failover_priority = ["topology.istio.io/network", "topology.kubernetes.io/region"]
[destination_rule.traffic_policy.outlier_detection]
consecutive_5xx_errors = 5
consecutive_gateway_errors = 0
consecutive_local_origin_failures = 5
split_external_local_origin_errors = false
interval = "10s"
base_ejection_time = "30s"
max_ejection_percent = 10
min_health_percent = 0
[[health_check]]
service = "bookinfo/productpage"
kind = "http"
path = "/healthz"
interval = "1s"
timeout = "500ms"
healthy_threshold = 2
unhealthy_threshold = 3
[hbone]
listen = "0.0.0.0:15008"
trust_domain = "cluster.local"
ca_bundle = "certs/ca.pem"
cert = "certs/gw.pem"
key = "certs/gw.key"
[[hbone.authorization]]
service = "bookinfo/productpage"
allow = ["spiffe://cluster.local/ns/bookinfo/sa/*"]
)";
    auto r = load(text);
    for (const auto& d : r.diagnostics.errors()) ADD_FAILURE() << d.to_string();
    // The contract's example has a 1,048,576-flow table and one SNAT address: rightly warned.
    const auto warnings = r.diagnostics.warnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].key, "dataplane.port[0].snat");
    ASSERT_TRUE(r.config.has_value());
    const auto& c = *r.config;
    EXPECT_EQ(c.services.size(), 3u);
    EXPECT_EQ(c.services[2].kind, ServiceKind::service_entry);
    EXPECT_EQ(c.lb.spillover, Spillover::strict);
    EXPECT_EQ(c.dataplane.ports.at(0).addresses.size(), 2u);
    EXPECT_EQ(c.destination_rules.at(0).outlier_detection->base_ejection_time, std::chrono::seconds(30));
    EXPECT_EQ(c.destination_rules.at(0).locality_lb_setting->failover_priority.size(), 2u);
    EXPECT_EQ(c.health_checks.at(0).kind, HealthCheckKind::http);
    EXPECT_EQ(c.hbone->authorization.at(0).allow.at(0), "spiffe://cluster.local/ns/bookinfo/sa/*");
    EXPECT_EQ(c.services[0].on_endpoint_down, OnEndpointDown::keep);
    EXPECT_EQ(c.endpoints.at(0).locality.node, "node-3");
    EXPECT_EQ(c.dataplane.flow_timeouts.tcp_established, std::chrono::hours(1));
    EXPECT_EQ(c.dataplane.flow_timeouts.udp, std::chrono::minutes(2));
}

TEST(LoadConfig, TheShippedExampleLoadsWithoutErrors) {
    auto r = load_config_file(MESHGATE_SOURCE_DIR "/config/meshgate.toml");
    for (const auto& d : r.diagnostics.errors()) ADD_FAILURE() << d.to_string();
    EXPECT_TRUE(r.config.has_value());
}

TEST(LoadConfig, BytesThatAreNotUtf8AreLocatedAndNeverReachTheParser) {
    // '4\xbf' once made toml11 read past its buffer (found by config_fuzz).
    expect_error({"'4\xbf'", "test.toml:1:3", "", "not valid UTF-8"});
    expect_error({node + "# caf\xc3\n", "test.toml:7:6", "", "unexpected byte 0xC3"});
    expect_error({"# \xed\xa0\x80 a surrogate\n", "test.toml:1:3", "", "0xED"});
    expect_error({"# \xc0\xaf overlong\n", "test.toml:1:3", "", "0xC0"});
    auto ok = load(node + "# café, 東京, 🚀\n" + service);
    EXPECT_TRUE(ok.config.has_value()) << "well-formed UTF-8 is fine";
}

TEST(LoadConfig, HealthCheckKindHboneNeedsAnHboneSection) {
    const std::string check = "[[health_check]]\nservice = \"shop/web\"\nkind = \"hbone\"\n";
    expect_error({node + service + check, "test.toml:14:1", "health_check[0].kind", "needs an [hbone] section"});
    auto ok = load(node + service + check + "[hbone]\nca_bundle = \"ca.pem\"\ncert = \"gw.pem\"\nkey = \"gw.key\"\n");
    ASSERT_TRUE(ok.config.has_value());
    EXPECT_EQ(ok.config->health_checks.at(0).kind, HealthCheckKind::hbone);
}

TEST(LoadConfig, AMissingFileIsAnError) {
    auto r = load_config_file("/nonexistent/meshgate.toml");
    ASSERT_FALSE(r.config.has_value());
    EXPECT_NE(r.diagnostics.errors().front().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace meshgate::config
