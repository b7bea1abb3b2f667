#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "lb/outlier_detector.h"

namespace meshgate::hbone {

// HBONE's port on every ztunnel (istio-semantics.md §8).
inline constexpr uint16_t hbone_port = 15008;

// What the far side of a CONNECT stream tells the stream's owner (the server connection), in
// the owner's thread.
class UpstreamEvents {
public:
    virtual ~UpstreamEvents() = default;
    // How a link's connect went (istio-semantics.md §6: what outlier detection counts).
    enum class Outcome : uint8_t {
        connected,
        failed,     // refused, reset, TLS or identity failure, a CONNECT answered other than 200 or 401
        timed_out,
        denied,     // a CONNECT answered 401: the peer's policy, not its health
    };
    // Connected (or not: then the link is done and the owner releases it).
    virtual void upstream_connected(int32_t stream, Outcome outcome) = 0;
    // How many bytes from the far side the owner can take now.
    virtual size_t upstream_room(int32_t stream) = 0;
    // Bytes from the far side, at most upstream_room(); returns how many the owner took.
    virtual size_t upstream_data(int32_t stream, std::span<const uint8_t> bytes) = 0;
    // The far side closed its direction cleanly, or broke.
    virtual void upstream_closed(int32_t stream) = 0;
    virtual void upstream_failed(int32_t stream) = 0;
    // The far side takes bytes again after write() took fewer than offered.
    virtual void upstream_writable(int32_t stream) = 0;
    // A batch of the above is over: move what it produced.
    virtual void upstream_pump() = 0;
};

// The far side of one admitted CONNECT stream: a TCP connection (TcpUpstream), or a stream of a
// pooled HBONE connection (HboneUpstream). Releasing it closes it (FIN/RST or RST_STREAM).
class UpstreamLink {
public:
    using Clock = std::chrono::steady_clock;
    virtual ~UpstreamLink() = default;
    // Bytes towards the far side; returns how many it took now.
    virtual size_t write(std::span<const uint8_t> bytes) = 0;
    // No more bytes towards the far side (FIN, END_STREAM) once those taken are sent.
    virtual void shutdown_write() = 0;
    // The owner has room again for upstream_data(): offer more.
    virtual void resume() = 0;
    // Still connecting, past its deadline.
    virtual bool expired(Clock::time_point now) const = 0;
};

}  // namespace meshgate::hbone
