#include "hbone/double_hbone.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <algorithm>

#include "hbone/client_pool.h"

namespace meshgate::hbone {

namespace {

constexpr size_t bio_buffer = 64 << 10;      // TLS records held each way between the SSL and us
constexpr size_t output_limit = 64 << 10;    // HTTP/2 bytes taken from the session per pass
constexpr size_t sealed_limit = 256 << 10;   // records waiting for the outer stream
constexpr int32_t outer_stream = 0;
thread_local uint8_t scratch[16 << 10];

}  // namespace

std::unique_ptr<UpstreamLink> DoubleHboneUpstream::open(ClientPool& pool, ProxyCounters& counters, UpstreamEvents& owner,
                                                        int32_t owner_stream, const DoubleHboneRoute& route,
                                                        ConnectHeaders inner_headers) {
    const auto tls = pool.tls();
    if (!tls) return nullptr;
    std::unique_ptr<DoubleHboneUpstream> link(
        new DoubleHboneUpstream(counters, owner, owner_stream, tls->new_connection(), route, std::move(inner_headers)));
    if (!link->ssl_ || !link->network_) return nullptr;
    // The outer CONNECT names the service, as the inner one does, and says nothing of our network.
    link->outer_ = pool.open(*link, outer_stream, route.gateway, route.gateway_identity, route.authority, ConnectHeaders{});
    if (!link->outer_ || link->broken_) return nullptr;
    link->opened_ = true;
    return link;
}

DoubleHboneUpstream::DoubleHboneUpstream(ProxyCounters& counters, UpstreamEvents& owner, int32_t owner_stream, SSL* ssl,
                                         const DoubleHboneRoute& route, ConnectHeaders inner_headers)
    : counters_(counters), owner_(owner), owner_stream_(owner_stream), identity_(route.identity), ssl_(ssl),
      inner_(std::make_unique<HboneUpstream>(owner, owner_stream, route.authority, std::move(inner_headers))) {
    if (!ssl_) return;
    BIO* internal = nullptr;
    if (BIO_new_bio_pair(&internal, bio_buffer, &network_, bio_buffer) != 1) {
        network_ = nullptr;
        return;
    }
    SSL_set_bio(ssl_, internal, internal);  // the SSL owns its end
}

DoubleHboneUpstream::~DoubleHboneUpstream() {
    dying_ = true;    // what follows wakes advance(): it must neither touch the SSL nor tell the owner
    inner_.reset();   // forgets its stream while the session still exists
    session_.reset();
    outer_.reset();  // RST_STREAM to the gateway if it is still open
    if (network_) BIO_free(network_);
    if (ssl_) SSL_free(ssl_);
}

void DoubleHboneUpstream::upstream_connected(int32_t, Outcome outcome) {
    if (outcome != Outcome::connected) {
        // The gateway refused or could not be reached: the stream fails as a direct one would.
        outer_done_ = true;
        return fail();
    }
    outer_up_ = true;
    advance();
}

size_t DoubleHboneUpstream::upstream_room(int32_t) {
    return broken_ || !network_ ? 0 : BIO_ctrl_get_write_guarantee(network_);
}

size_t DoubleHboneUpstream::upstream_data(int32_t, std::span<const uint8_t> bytes) {
    const size_t n = std::min(bytes.size(), upstream_room(outer_stream));
    if (n == 0) return 0;
    const int written = BIO_write(network_, bytes.data(), static_cast<int>(n));
    if (written <= 0) return 0;
    return static_cast<size_t>(written);  // advance() runs at the outer session's pump
}

void DoubleHboneUpstream::upstream_closed(int32_t) {
    // The gateway ended the stream: the far side's TLS sees the end of its records.
    outer_done_ = true;
    BIO_shutdown_wr(network_);
    advance();
}

void DoubleHboneUpstream::upstream_failed(int32_t) {
    outer_done_ = true;
    fail();
}

void DoubleHboneUpstream::advance() {
    if (dying_) return;
    if (busy_) {
        again_ = true;
        return;
    }
    busy_ = true;
    do {
        again_ = false;
        while (!broken_ && step()) {
        }
    } while (again_ && !broken_);
    busy_ = false;
    if (session_) session_->notify();  // the owner hears of answers and bytes, and may write: a nested advance() runs
}

bool DoubleHboneUpstream::step() {
    bool moved = false;
    if (!session_ && outer_up_ && !handshake()) return false;
    if (session_) {
        // Records in → plaintext → the inner HTTP/2 session.
        bool read_any = false;
        for (;;) {
            const int n = SSL_read(ssl_, scratch, sizeof scratch);
            if (n > 0) {
                moved = read_any = true;
                if (!session_->receive(std::span<const uint8_t>(scratch, static_cast<size_t>(n)))) {
                    ProxyCounters::add(counters_.protocol_errors);
                    fail();
                    return false;
                }
                continue;
            }
            const int error = SSL_get_error(ssl_, n);
            if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
            // close_notify, or the end of the outer stream. An inner CONNECT the far side had
            // ended keeps what it has yet to give the owner; one it had not ended fails.
            if (inner_->remote_done_) {
                broken_ = true;
                return false;
            }
            fail();
            return false;
        }
        // The records read made room in the pair: the outer stream may hand over what it holds.
        if (read_any && !outer_done_) outer_->resume();
        // The session's output → TLS records.
        if (plain_out_.size() < output_limit) session_->output_to(plain_out_, output_limit);
        while (!plain_out_.empty()) {
            const auto chunk = plain_out_.front();
            const int n = SSL_write(ssl_, chunk.data(), static_cast<int>(std::min<size_t>(chunk.size(), INT32_MAX)));
            if (n <= 0) break;
            plain_out_.pop(static_cast<size_t>(n));
            moved = true;
        }
    }
    // Records out → the outer stream, once the gateway has answered 200.
    if (outer_up_ && !outer_done_) {
        while (sealed_out_.size() < sealed_limit) {
            const int n = BIO_read(network_, scratch, sizeof scratch);
            if (n <= 0) break;
            sealed_out_.append(std::span<const uint8_t>(scratch, static_cast<size_t>(n)));
            moved = true;
        }
        while (!sealed_out_.empty()) {
            const size_t n = outer_->write(sealed_out_.front());
            if (n == 0) break;
            sealed_out_.pop(n);
            moved = true;
        }
    }
    return moved;
}

bool DoubleHboneUpstream::handshake() {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
        const int error = SSL_get_error(ssl_, r);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;  // records to move
        ProxyCounters::add(counters_.pool_handshake_failures);
        fail();
        return false;
    }
    if (check_server(ssl_, {identity_}) != PeerVerdict::ok) {
        ProxyCounters::add(counters_.pool_handshake_failures);
        fail();
        return false;
    }
    // Not pooled: this connection carries this one CONNECT and ends with it.
    session_ = std::make_unique<ClientSession>(counters_, [this] { advance(); });
    ProxyCounters::add(counters_.double_hbone_streams);
    session_->add(*inner_);
    return true;
}

void DoubleHboneUpstream::fail() {
    if (broken_) return;
    broken_ = true;
    if (!opened_) return;  // open() returns nothing, and the owner answers for itself
    if (session_) return session_->fail_all();  // tells the owner, answered or not
    if (!inner_->answered_) {
        inner_->answered_ = true;
        owner_.upstream_connected(owner_stream_, Outcome::failed);
        owner_.upstream_pump();
    }
}

}  // namespace meshgate::hbone
