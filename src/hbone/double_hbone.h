#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/address.h"
#include "hbone/byte_queue.h"
#include "hbone/client_session.h"
#include "hbone/connect_session.h"
#include "hbone/proxy_counters.h"
#include "hbone/tls_context.h"
#include "hbone/upstream_link.h"

typedef struct bio_st BIO;

namespace meshgate::hbone {

class ClientPool;

// Where a stream to another network's endpoint goes (istio-semantics.md §8.7).
struct DoubleHboneRoute {
    SocketAddress gateway;         // the network's east-west gateway, its HBONE port
    std::string gateway_identity;  // what its certificate must carry
    std::string authority;         // <service hostname>:<service port>, outer and inner CONNECT alike
    std::string identity;          // what the far ztunnel's certificate must carry
};

// Double HBONE: an outer CONNECT to the east-west gateway, pooled like any HBONE stream, carries
// a TLS connection of its own to the far side, and on it one HTTP/2 connection with one
// CONNECT. The inner connection is never pooled: pooled, every stream would go wherever the
// gateway sent the first one (istio/istio#58039). The gateway forwards the inner bytes as they
// are; only the far ztunnel can read them.
//
// The owner sees one UpstreamLink, as for any other upstream: the inner CONNECT's answer, its
// bytes and its end reach the owner's UpstreamEvents directly; a failure of the outer stream or
// of the inner TLS fails it the same way.
class DoubleHboneUpstream final : public UpstreamLink, private UpstreamEvents {
public:
    // nullptr when the outer stream cannot even start.
    static std::unique_ptr<UpstreamLink> open(ClientPool& pool, ProxyCounters& counters, UpstreamEvents& owner,
                                              int32_t owner_stream, const DoubleHboneRoute& route, ConnectHeaders inner_headers);
    ~DoubleHboneUpstream() override;

    size_t write(std::span<const uint8_t> bytes) override { return inner_->write(bytes); }
    void shutdown_write() override { inner_->shutdown_write(); }
    void resume() override { inner_->resume(); }
    bool expired(Clock::time_point now) const override { return inner_->expired(now); }

private:
    DoubleHboneUpstream(ProxyCounters& counters, UpstreamEvents& owner, int32_t owner_stream, SSL* ssl,
                        const DoubleHboneRoute& route, ConnectHeaders inner_headers);

    // The outer stream's events; it is the only stream, numbered 0.
    void upstream_connected(int32_t, Outcome outcome) override;
    size_t upstream_room(int32_t) override;
    size_t upstream_data(int32_t, std::span<const uint8_t> bytes) override;
    void upstream_closed(int32_t) override;
    void upstream_failed(int32_t) override;
    void upstream_writable(int32_t) override { advance(); }
    void upstream_pump() override { advance(); }

    // Moves what can move: records from the outer stream through TLS into the inner session,
    // and back out; then tells the owner.
    void advance();
    bool step();  // one pass; true if anything moved
    bool handshake();
    void fail();

    ProxyCounters& counters_;
    UpstreamEvents& owner_;
    const int32_t owner_stream_;
    const std::string identity_;
    SSL* ssl_;
    BIO* network_ = nullptr;  // our end of the pair whose other end the SSL reads and writes
    std::unique_ptr<UpstreamLink> outer_;
    std::unique_ptr<ClientSession> session_;  // once the inner handshake is done
    std::unique_ptr<HboneUpstream> inner_;    // the inner CONNECT, reporting to the owner
    ByteQueue plain_out_;   // HTTP/2 bytes the SSL has not taken yet
    ByteQueue sealed_out_;  // TLS records the outer stream has not taken yet
    bool outer_up_ = false, outer_done_ = false, broken_ = false;
    bool opened_ = false;  // open() has returned: the owner knows this link and may hear of it
    bool dying_ = false;
    bool busy_ = false, again_ = false;  // inside advance(): a nested call runs as another pass
};

}  // namespace meshgate::hbone
