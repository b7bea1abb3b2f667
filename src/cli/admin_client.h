#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace meshgate::cli {

// The default admin socket (interfaces.md), overridden by --socket or $MESHGATE_SOCKET.
std::string default_socket();

// The daemon could not be asked: no socket, no permission, no answer, a garbled answer.
struct AdminUnreachable {
    std::string message;  // names the socket path and what to check
};

// Sends one request (docs/admin-protocol.md) and returns the reply document, which has "ok"
// and "result" or "error". Throws AdminUnreachable.
nlohmann::json admin_request(const std::string& socket, const std::string& command,
                             const nlohmann::json& args = nlohmann::json::object());

}  // namespace meshgate::cli
