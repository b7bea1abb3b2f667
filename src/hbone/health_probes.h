#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/address.h"
#include "hbone/event_loop.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

class ClientPool;

// A health probe of `kind = "hbone"`: a CONNECT to `address`:`port` through the ztunnel at
// `address`:hbone_port whose certificate carries `identity`.
struct ProbeRequest {
    uint64_t token;
    IpAddress address;
    uint16_t port;
    std::string identity;
};
struct ProbeResult {
    uint64_t token;
    bool ok;
    std::string what;
};

// One proxy thread's probes in flight: each a CONNECT on the thread's pooled connections,
// released as soon as it is answered (200 passes; anything else, or no answer within the
// link's connect timeout, fails). Results go to `report`, in the thread's loop.
class HealthProbes final : private UpstreamEvents {
public:
    using Clock = std::chrono::steady_clock;

    HealthProbes(EventLoop& loop, ClientPool& pool, std::function<void(ProbeResult)> report);
    ~HealthProbes() override;
    HealthProbes(const HealthProbes&) = delete;
    HealthProbes& operator=(const HealthProbes&) = delete;

    void start(const ProbeRequest& request);
    // Fails the probes whose answer is late.
    void tick(Clock::time_point now);

private:
    void finish(int32_t id, bool ok, std::string what);

    // Only the answer matters.
    void upstream_connected(int32_t id, Outcome outcome) override;
    size_t upstream_room(int32_t) override { return 0; }
    size_t upstream_data(int32_t, std::span<const uint8_t>) override { return 0; }
    void upstream_closed(int32_t) override {}
    void upstream_failed(int32_t) override {}
    void upstream_writable(int32_t) override {}
    void upstream_pump() override {}

    struct Probe {
        uint64_t token = 0;
        std::unique_ptr<UpstreamLink> link;
    };
    EventLoop& loop_;
    ClientPool& pool_;
    std::function<void(ProbeResult)> report_;
    std::map<int32_t, Probe> probes_;
    int32_t next_ = 1;
};

}  // namespace meshgate::hbone
