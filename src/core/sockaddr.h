#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>

#include "core/address.h"

namespace meshgate {

// An address and port in the kernel's form, for bind() and connect(); returns its length.
socklen_t to_sockaddr(const IpAddress& address, uint16_t port, sockaddr_storage& out);
inline socklen_t to_sockaddr(const SocketAddress& a, sockaddr_storage& out) { return to_sockaddr(a.address, a.port, out); }
// The other way, for accept() and getpeername(); nullopt for a family that is neither.
std::optional<SocketAddress> from_sockaddr(const sockaddr_storage& in);

}  // namespace meshgate
