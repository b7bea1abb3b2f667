#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/admin_server.h"
#include "control/live_state.h"
#include "lb/flow_hash.h"

namespace meshgate::control {

// A request the daemon cannot carry out: its code and message go into the error reply.
struct AdminError {
    std::string code;  // bad_request, unknown_command, not_found, conflict, failed
    std::string message;
};

// What admin commands read and change; the control thread provides it (tests and the fuzz
// target provide their own).
class AdminContext {
public:
    virtual ~AdminContext() = default;
    virtual LiveState& live() = 0;
    // An update was applied: returns the generation of the snapshot that will carry it (the
    // update's reply waits until every worker sees it).
    virtual uint64_t next_generation() = 0;
    virtual nlohmann::json status() = 0;
    // The live snapshot's plan in the `plan --json` shape; `service` narrows it (must exist).
    virtual nlohmann::json plan(const std::optional<std::string>& service) = 0;
    // Run-time facts about an endpoint: active flows, check state, ejection.
    virtual nlohmann::json endpoint_runtime(uint32_t slot) = 0;
    virtual nlohmann::json stats() = 0;
    virtual std::string prometheus() = 0;
    // Re-reads the file; throws AdminError when it is bad (the running config stays).
    virtual nlohmann::json reload(bool discard_admin) = 0;
    // Withdraws every VIP and exits once the routers moved away and no flow remains (or
    // undoes that, with `cancel`): node_drain.h.
    virtual nlohmann::json drain_node(bool cancel) = 0;
    // Where the running snapshot sends each flow if it is new: {"flows": [{service, endpoint}|…]}.
    virtual nlohmann::json lookup(const std::vector<lb::FlowKey>& flows) = 0;
};

// One request line → one reply line (docs/admin-protocol.md): parses, checks types, runs the
// command. Never throws; anything malformed gets an error reply.
AdminReply handle_admin_request(std::string_view line, AdminContext& context);

}  // namespace meshgate::control
