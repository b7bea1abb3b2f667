#pragma once

#include <sched.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.h"
#include "hbone/catalog.h"
#include "hbone/health_probes.h"
#include "lb/outlier_detector.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_context.h"

namespace meshgate::hbone {

// meshgate's HBONE proxy (waypoint role): `[hbone] threads` event loops sharing one listening
// socket on `[hbone] listen` (whichever thread is free accepts the next connection), serving
// ServerConnections. It follows the live state through update(): the catalog of every new
// snapshot, and the TLS files, read again when their path or their contents change (a renewed
// certificate is used by new connections; open ones keep theirs).
class Proxy {
public:
    // Loads the TLS files and binds the listeners: throws TlsError or std::runtime_error.
    Proxy(const HboneConfig& config, std::shared_ptr<const Catalog> catalog);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Starts the threads; with `cpus`, they run on those CPUs only.
    void start(const cpu_set_t* cpus = nullptr);
    void stop();
    // From the control thread, with each new snapshot.
    void update(std::shared_ptr<const Catalog> catalog);

    // Every thread's counters, summed (relaxed reads: the threads keep running).
    struct Totals {
        uint64_t connections = 0, connections_open = 0, connections_refused = 0, tunnels = 0;
        std::vector<uint64_t> handshake_failures;  // by HandshakeFailure
        uint64_t streams = 0, streams_open = 0;
        uint64_t answered_400 = 0, answered_401 = 0, answered_503 = 0, answered_other = 0;
        uint64_t upstream_connect_failures = 0, bytes_to_upstream = 0, bytes_from_upstream = 0, protocol_errors = 0;
        uint64_t tls_reloads = 0, tls_reload_failures = 0, outcomes_dropped = 0, keepalive_timeouts = 0;
        uint64_t pool_connections = 0, pool_connections_open = 0, pool_connect_failures = 0, pool_handshake_failures = 0,
                 pool_refused_streams = 0, double_hbone_streams = 0;
        uint64_t gateway_connections = 0, gateway_connections_open = 0, gateway_listeners = 0;
    };
    Totals totals() const;
    // Connect outcomes towards endpoints since the last call (endpoint index, result), for
    // outlier detection; at most `max_outcomes` wait, the rest are dropped and counted.
    static constexpr size_t max_outcomes = 65536;
    std::vector<std::pair<uint32_t, lb::ConnectResult>> take_outcomes();
    // Health probes (`kind = "hbone"`, health_probes.h), made by the first thread.
    using ProbeRequest = hbone::ProbeRequest;
    using ProbeResult = hbone::ProbeResult;
    void probe(ProbeRequest request);
    std::vector<ProbeResult> take_probe_results();
    // Identities of the certificate in use.
    std::vector<std::string> identities() const;

private:
    class Thread;
    friend class Thread;

    std::shared_ptr<const Catalog> catalog() const;
    std::shared_ptr<const TlsContext> tls() const;
    std::shared_ptr<const TlsContext> client_tls() const;
    // Loads the TLS files again if their paths or contents changed; keeps the old on error.
    void refresh_tls(const HboneConfig& config);

    int listen_fd_ = -1;  // `[hbone] listen`, watched by every thread
    std::vector<std::unique_ptr<Thread>> threads_;
    mutable std::mutex mutex_;  // guards catalog_, tls_ and the files' signature
    std::shared_ptr<const Catalog> catalog_;
    std::atomic<uint64_t> catalog_generation_{0};
    std::shared_ptr<const TlsContext> tls_, client_tls_;  // the node's identity, both ways
    std::string tls_signature_;  // paths, sizes and modification times of the files in use
    std::atomic<uint64_t> tls_reloads_{0}, tls_reload_failures_{0};
    std::mutex outcomes_mutex_;
    std::vector<std::pair<uint32_t, lb::ConnectResult>> outcomes_;
    std::atomic<uint64_t> outcomes_dropped_{0};
    std::mutex probes_mutex_;
    std::vector<ProbeRequest> probe_requests_;
    std::vector<ProbeResult> probe_results_;
};

}  // namespace meshgate::hbone
