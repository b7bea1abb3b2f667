#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.h"

namespace meshgate::control {

// Health probes the control thread cannot make itself: `kind = "hbone"` checks, a CONNECT to
// the endpoint through its ztunnel over mutual TLS, which the HBONE proxy makes on its threads.
class RemoteProber {
public:
    struct Result {
        uint64_t token;
        bool ok;
        std::string what;  // "ok", "HBONE connect failed", …
    };
    virtual ~RemoteProber() = default;
    // CONNECT `address`:`port` through the ztunnel at `address`:15008, whose certificate must
    // carry `identity`; the result comes back from results() with `token`.
    virtual void probe(uint64_t token, const IpAddress& address, uint16_t port, const std::string& identity) = 0;
    // The probes finished since the last call.
    virtual std::vector<Result> results() = 0;
};

}  // namespace meshgate::control
