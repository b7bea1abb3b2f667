// Requests → replies through the real dispatcher, on a LiveState with a stand-in for the rest
// of the daemon.
#include "control/admin_commands.h"

#include <gtest/gtest.h>

#include "config/load_config.h"

namespace meshgate::control {
namespace {

using nlohmann::json;

Config example() {
    auto r = config::load_config_file(MESHGATE_SOURCE_DIR "/config/meshgate.toml");
    EXPECT_TRUE(r.config);
    return *r.config;
}

class FakeDaemon : public AdminContext {
public:
    FakeDaemon() : live_(example()) { live_.take_replan(); }  // as after the first publish
    LiveState& live() override { return live_; }
    uint64_t next_generation() override { return ++awaited_; }
    json status() override { return {{"generation", 7}}; }
    json plan(const std::optional<std::string>& service) override {
        if (service && !live_.config().find_service(*service)) throw AdminError{"not_found", "no service " + *service};
        return {{"services", json::array()}};
    }
    json endpoint_runtime(uint32_t) override { return {{"active_flows", 3}, {"new_flows", 5}}; }
    json stats() override { return {{"totals", json::object()}}; }
    std::string prometheus() override { return "meshgate_info 1\n"; }
    json reload(bool) override { throw AdminError{"failed", "reload of x.toml failed"}; }
    json drain_node(bool cancel) override { return {{"draining", !cancel}}; }
    json lookup(const std::vector<lb::FlowKey>& flows) override {
        looked_up = flows;
        return {{"flows", flows.size()}};
    }
    std::vector<lb::FlowKey> looked_up;
    uint64_t awaited_ = 0;

private:
    LiveState live_;
};

json ask(FakeDaemon& d, const std::string& line, AdminReply* raw = nullptr) {
    auto reply = handle_admin_request(line, d);
    if (raw) *raw = reply;
    auto j = json::parse(reply.line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << reply.line;
    EXPECT_EQ(reply.line.find('\n'), std::string::npos) << "one reply, one line";
    EXPECT_EQ(reply.ok, j.value("ok", false));
    return j;
}

TEST(AdminCommands, EchoesTheIdAndAnswersReadsAtOnce) {
    FakeDaemon d;
    AdminReply raw;
    auto r = ask(d, R"({"id": "a-1", "command": "status"})", &raw);
    EXPECT_EQ(r["id"], "a-1");
    EXPECT_EQ(r["ok"], true);
    EXPECT_EQ(r["result"]["generation"], 7);
    EXPECT_EQ(raw.after_generation, 0u);
    EXPECT_EQ(ask(d, R"({"id": 42, "command": "status"})")["id"], 42);
    EXPECT_TRUE(ask(d, R"({"command": "status"})")["id"].is_null());
}

TEST(AdminCommands, MalformedRequestsGetErrors) {
    FakeDaemon d;
    struct Case {
        const char* line;
        const char* code;
    } cases[] = {
        {"not json", "bad_request"},
        {"[1,2]", "bad_request"},
        {R"({"id": {"x": 1}, "command": "status"})", "bad_request"},
        {R"({"id": 1})", "bad_request"},
        {R"({"id": 1, "command": 5})", "bad_request"},
        {R"({"id": 1, "command": "launch"})", "unknown_command"},
        {R"({"id": 1, "command": "endpoints", "args": [1]})", "bad_request"},
        {R"({"id": 1, "command": "endpoints", "args": {"service": 3}})", "bad_request"},
        {R"({"id": 1, "command": "endpoints", "args": {"service": "no/such"}})", "not_found"},
        {R"({"id": 1, "command": "endpoint.set", "args": {"service": "bookinfo/reviews", "address": "10.1.1.21"}})", "bad_request"},
        {R"({"id": 1, "command": "endpoint.set", "args": {"service": "bookinfo/reviews", "address": "10.1.1.21", "weight": -1}})", "bad_request"},
        {R"({"id": 1, "command": "endpoint.set", "args": {"service": "bookinfo/reviews", "address": "10.1.1.99", "weight": 2}})", "not_found"},
        {R"({"id": 1, "command": "endpoint.set", "args": {"service": "bookinfo/reviews", "address": "ten", "weight": 2}})", "bad_request"},
        {R"({"id": 1, "command": "endpoint.add", "args": {"service": "bookinfo/reviews", "address": "10.1.1.21"}})", "conflict"},
        {R"({"id": 1, "command": "endpoint.add", "args": {"service": "bookinfo/reviews", "address": "10.1.1.50", "locality": {"planet": "x"}}})", "bad_request"},
        {R"({"id": 1, "command": "stats", "args": {"format": "xml"}})", "bad_request"},
        {R"({"id": 1, "command": "reload"})", "failed"},
        {R"({"id": 1, "command": "drain_node", "args": {"cancel": "yes"}})", "bad_request"},
        {R"({"id": 1, "command": "lookup"})", "bad_request"},
        {R"({"id": 1, "command": "lookup", "args": {"flows": {}}})", "bad_request"},
        {R"({"id": 1, "command": "lookup", "args": {"flows": [["sctp", "10.0.0.1", 1, "10.96.0.1", 80]]}})", "bad_request"},
        {R"({"id": 1, "command": "lookup", "args": {"flows": [["tcp", "10.0.0.1", 70000, "10.96.0.1", 80]]}})", "bad_request"},
        {R"({"id": 1, "command": "lookup", "args": {"flows": [["tcp", "10.0.0.1", 1, "fd96::1", 80]]}})", "bad_request"},
        {R"({"id": 1, "command": "lookup", "args": {"flows": [["tcp", "10.0.0.1", 1, "10.96.0.1"]]}})", "bad_request"},
    };
    for (const auto& c : cases) {
        auto r = ask(d, c.line);
        EXPECT_EQ(r["ok"], false) << c.line;
        EXPECT_EQ(r["error"]["code"], c.code) << c.line;
        EXPECT_FALSE(r["error"]["message"].get<std::string>().empty());
    }
    EXPECT_EQ(d.live().admin_changes(), 0u) << "no failed request changed anything";
    EXPECT_FALSE(d.live().dirty());
    EXPECT_EQ(d.awaited_, 0u) << "failed updates wait for no snapshot";
}

TEST(AdminCommands, BinaryAndInvalidUtf8GetAValidJsonReply) {
    FakeDaemon d;
    const std::string binary("{\"id\":1,\"command\":\"\xff\xfe\x01\"}", 22);
    auto r = ask(d, binary);
    EXPECT_EQ(r["ok"], false);
    auto r2 = ask(d, std::string("\0\x01\x02", 3));
    EXPECT_EQ(r2["error"]["code"], "bad_request");
}

TEST(AdminCommands, UpdatesApplyAndWaitForTheirSnapshot) {
    FakeDaemon d;
    AdminReply raw;
    auto r = ask(d, R"({"id": 1, "command": "endpoint.set", "args": {"service": "bookinfo/reviews", "address": "10.1.1.21", "healthy": false, "weight": 3}})", &raw);
    ASSERT_EQ(r["ok"], true) << r.dump();
    EXPECT_EQ(raw.after_generation, 1u);
    EXPECT_EQ(r["result"]["endpoint"]["weight"], 3);
    EXPECT_EQ(r["result"]["endpoint"]["declared_healthy"], false);
    EXPECT_EQ(r["result"]["endpoint"]["source"], "admin");
    EXPECT_EQ(r["result"]["endpoint"]["active_flows"], 3);

    r = ask(d, R"({"id": 2, "command": "endpoint.add", "args": {"service": "bookinfo/reviews", "address": "10.1.1.50", "port": 9090,
                  "weight": 2, "locality": {"region": "us-east", "zone": "us-east-1a"}, "labels": {"version": "v9"}}})");
    ASSERT_EQ(r["ok"], true) << r.dump();
    EXPECT_EQ(r["result"]["endpoint"]["key"], "10.1.1.50:9090");
    r = ask(d, R"({"id": 3, "command": "drain", "args": {"service": "bookinfo/reviews", "address": "10.1.1.50", "port": 9090}})");
    ASSERT_EQ(r["ok"], true) << r.dump();
    EXPECT_EQ(r["result"]["endpoint"]["weight"], 0);

    auto list = ask(d, R"({"id": 4, "command": "endpoints", "args": {"service": "bookinfo/reviews"}})");
    size_t admin = 0;
    for (const auto& e : list["result"]["endpoints"]) {
        EXPECT_EQ(e["service"], "bookinfo/reviews");
        admin += e["source"] == "admin";
    }
    EXPECT_EQ(list["result"]["endpoints"].size(), 4u);
    EXPECT_EQ(admin, 2u);

    r = ask(d, R"({"id": 5, "command": "endpoint.remove", "args": {"service": "bookinfo/reviews", "address": "10.1.1.50", "port": 9090}})");
    ASSERT_EQ(r["ok"], true) << r.dump();
    EXPECT_EQ(ask(d, R"({"id": 6, "command": "endpoints", "args": {"service": "bookinfo/reviews"}})")["result"]["endpoints"].size(), 3u);
    EXPECT_EQ(d.awaited_, 4u);
}

TEST(AdminCommands, LookupParsesEachFlow) {
    FakeDaemon d;
    auto r = ask(d, R"({"command": "lookup", "args": {"flows": [["tcp", "10.0.0.1", 40000, "10.96.0.1", 80],
                                                            ["udp", "fd00::1", 53, "fd96::1", 5353]]}})");
    ASSERT_EQ(r["ok"], true) << r.dump();
    ASSERT_EQ(d.looked_up.size(), 2u);
    EXPECT_EQ(d.looked_up[0].protocol, 6);
    EXPECT_EQ(d.looked_up[0].source.to_string(), "10.0.0.1");
    EXPECT_EQ(d.looked_up[0].source_port, 40000);
    EXPECT_EQ(d.looked_up[0].destination_port, 80);
    EXPECT_EQ(d.looked_up[1].protocol, 17);
    EXPECT_EQ(d.looked_up[1].destination.to_string(), "fd96::1");
}

TEST(AdminCommands, PrometheusFormat) {
    FakeDaemon d;
    auto r = ask(d, R"({"id": 1, "command": "stats", "args": {"format": "prometheus"}})");
    EXPECT_EQ(r["result"]["prometheus"], "meshgate_info 1\n");
}

}  // namespace
}  // namespace meshgate::control
