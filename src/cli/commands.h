#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace meshgate::cli {

// Exit status of every command (interfaces.md): 0 ok, 1 the request failed, 2 bad usage or config.
enum ExitStatus : int { exit_ok = 0, exit_failed = 1, exit_usage = 2 };

// Options every command takes, before or after its name.
struct GlobalOptions {
    bool json = false;
    std::string socket;
};

// Offline: a TOML file, no daemon.
int run_plan_offline(const GlobalOptions& global, const std::string& config, const std::optional<std::string>& service,
                     std::optional<uint64_t> flows);
int run_check(const GlobalOptions& global, const std::string& config);

// An endpoint as the command line names it: NS/NAME ADDRESS[:PORT].
struct EndpointName {
    std::string service;
    std::string address;
    uint16_t port = 0;  // 0: the service's target port
};
// Parses "10.1.0.11", "10.1.0.11:9080", "fd00::1" or "[fd00::1]:9080"; nothing when malformed.
std::optional<EndpointName> parse_endpoint_name(const std::string& service, const std::string& address);

struct EndpointChange {
    std::optional<bool> healthy;
    std::optional<uint32_t> weight;
    bool hbone = false;
    std::string identity;
    std::map<std::string, std::string> locality;  // network, region, zone, subzone, cluster, node
    std::map<std::string, std::string> labels;
};

// Through the daemon's admin socket.
int run_status(const GlobalOptions& global);
int run_plan_live(const GlobalOptions& global, const std::optional<std::string>& service);
int run_endpoints(const GlobalOptions& global, const std::optional<std::string>& service);
int run_endpoint_add(const GlobalOptions& global, const EndpointName& name, const EndpointChange& change);
int run_endpoint_set(const GlobalOptions& global, const EndpointName& name, const EndpointChange& change);
int run_endpoint_remove(const GlobalOptions& global, const EndpointName& name);
int run_drain(const GlobalOptions& global, const EndpointName& name);
int run_stats(const GlobalOptions& global, bool prometheus);
int run_reload(const GlobalOptions& global, bool discard_admin);

// Scale-out (scale_out_commands.cc).
int run_drain_node(const GlobalOptions& global, bool cancel, bool wait);
int run_lookup(const GlobalOptions& global, const std::string& protocol, const std::string& source, const std::string& destination);
// The `announce` part of status, as text.
void print_announce(std::ostream& out, const nlohmann::json& announce);

}  // namespace meshgate::cli
