#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hbone/connect_session.h"
#include "hbone/connect_target.h"
#include "hbone/upstream_link.h"

namespace meshgate::hbone {

class ConnectionOwner;

// The far side of a stream the proxy admitted: a CONNECT stream (waypoint role), or a plain
// TCP connection to a VIP of a `forwarding = "hbone"` service (gateway role).
struct OpenedUpstream {
    uint32_t endpoint = UINT32_MAX;      // index in the catalog's Config::endpoints
    std::unique_ptr<UpstreamLink> link;  // nullptr: `why` says why
    std::string why;
};

// The endpoint `decision` names, or the one its service's backend table picks with a fresh
// stream hash, reached as the endpoint says: over TCP; through its ztunnel (`hbone = true`,
// CONNECT endpoint IP:target port to IP:15008); or, on another network, by double HBONE through
// that network's gateway. In the gateway role (`decision.dialled`), a service with a waypoint
// is reached through the waypoint instead, by double HBONE too if the waypoint is on another
// network. The link reports to `events` for `stream`. A connect
// that could not even start is counted and told to outlier detection here.
OpenedUpstream open_upstream(ConnectionOwner& owner, UpstreamEvents& events, int32_t stream, const ConnectDecision& decision,
                             const ConnectHeaders& headers);

// How an opened upstream's connect went, for outlier detection (a 401 counts as neither) and,
// when it did not connect, the failure counter.
void report_connect(ConnectionOwner& owner, uint32_t endpoint, UpstreamEvents::Outcome outcome);

}  // namespace meshgate::hbone
