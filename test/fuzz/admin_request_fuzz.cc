// libFuzzer: one admin request line through the real parser and dispatcher, on a live state of
// the example configuration that the requests may change (endpoint add/set/remove, drain).
// Every input must get exactly one well-formed JSON reply line.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/load_config.h"
#include "control/admin_commands.h"

namespace {

using namespace meshgate;
using nlohmann::json;

class Daemon : public control::AdminContext {
public:
    explicit Daemon(Config config) : live_(std::move(config)) {}
    control::LiveState& live() override { return live_; }
    uint64_t next_generation() override { return 1; }
    json status() override { return {{"generation", 1}}; }
    json plan(const std::optional<std::string>& service) override {
        if (service && !live_.config().find_service(*service)) throw control::AdminError{"not_found", "no service"};
        return json::object();
    }
    json endpoint_runtime(uint32_t) override { return {{"active_flows", 0}}; }
    json stats() override { return json::object(); }
    std::string prometheus() override { return ""; }
    json drain_node(bool) override { return json::object(); }
    json lookup(const std::vector<lb::FlowKey>& flows) override { return {{"flows", flows.size()}}; }
    json reload(bool discard) override {
        live_.reload(live_.config(), discard);
        return json::object();
    }

private:
    control::LiveState live_;
};

Daemon& daemon() {
    static Daemon* d = [] {
        auto loaded = config::load_config_file(MESHGATE_SOURCE_DIR "/config/meshgate.toml");
        if (!loaded.config) std::abort();
        return new Daemon(std::move(*loaded.config));
    }();
    return *d;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto& d = daemon();
    auto reply = control::handle_admin_request(std::string_view(reinterpret_cast<const char*>(data), size), d);
    if (reply.render) reply.line = reply.render();
    if (reply.line.find('\n') != std::string::npos) std::abort();
    const auto parsed = json::parse(reply.line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok") || parsed["ok"].get<bool>() != reply.ok) std::abort();
    // Keep the state bounded: the fuzzer could add endpoints without end.
    if (d.live().config().endpoints.size() > 4096) d.live().reload(d.live().config(), true);
    d.live().take_replan();
    return 0;
}
