#include "hbone/server_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "hbone/client_pool.h"
#include "hbone/tcp_upstream.h"
#include "hbone/upstream_open.h"
#include "hbone/tls_context.h"

namespace meshgate::hbone {

namespace {

// One read's worth; the thread's loop reads one socket at a time.
thread_local uint8_t read_buffer[64 << 10];

HandshakeFailure classify(SSL* ssl, unsigned long error) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify == X509_V_ERR_CERT_HAS_EXPIRED) return HandshakeFailure::expired_certificate;
    if (verify != X509_V_OK) return HandshakeFailure::bad_certificate;
    switch (ERR_GET_REASON(error)) {
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE: return HandshakeFailure::no_certificate;
        case SSL_R_NO_APPLICATION_PROTOCOL: return HandshakeFailure::no_alpn;
        default: return HandshakeFailure::not_tls;
    }
}

HandshakeFailure failure_of(PeerVerdict v) {
    switch (v) {
        case PeerVerdict::no_alpn: return HandshakeFailure::no_alpn;
        case PeerVerdict::no_certificate: return HandshakeFailure::no_certificate;
        case PeerVerdict::wrong_trust_domain: return HandshakeFailure::wrong_trust_domain;
        default: return HandshakeFailure::no_identity;
    }
}

}  // namespace

ServerConnection::ServerConnection(ConnectionOwner& owner, int fd, SSL* ssl, const SocketAddress& peer)
    : owner_(owner), tls_(fd, ssl), peer_(peer), handshake_deadline_(Clock::now() + handshake_timeout) {
    SSL_set_fd(ssl, fd);
    ProxyCounters::add(owner_.counters().connections);
    watched_ = EPOLLIN;
    owner_.loop().watch(fd, watched_, this);
}

ServerConnection::~ServerConnection() {
    // The session first: its destructor releases the upstreams.
    session_.reset();
}

void ServerConnection::on_events(uint32_t events) {
    if (ended_) return;
    if (!session_) return handshake();
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_client();
    if (ended_) return;
    pump();
}

void ServerConnection::handshake() {
    const auto status = tls_.handshake();
    if (status == TlsSocket::Status::again) {
        // Mostly still EPOLLIN (a flight written, the peer's next awaited): no epoll_ctl then.
        if (const uint32_t wanted = tls_.wanted_events(); wanted != watched_) {
            watched_ = wanted;
            owner_.loop().change(tls_.fd(), watched_, this);
        }
        return;
    }
    auto& counters = owner_.counters();
    if (status != TlsSocket::Status::ok) {
        ProxyCounters::add(counters.handshake_failures[static_cast<size_t>(classify(tls_.ssl(), tls_.error()))]);
        return end();
    }
    const Config& config = owner_.catalog().config();
    const PeerVerdict verdict = check_client(tls_.ssl(), config.hbone ? config.hbone->trust_domain : std::string());
    if (verdict != PeerVerdict::ok) {
        ProxyCounters::add(counters.handshake_failures[static_cast<size_t>(failure_of(verdict))]);
        return end();
    }
    ProxyCounters::add(counters.tunnels);
    int one = 1;
    setsockopt(tls_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    session_ = std::make_unique<ConnectSession>([this]() -> const Config& { return owner_.catalog().config(); },
                                                peer_identities(tls_.ssl()), static_cast<Upstreams&>(*this));
    read_client();  // what came with the handshake's last flight
    if (!ended_) pump();
}

void ServerConnection::read_client() {
    // TLS records (16 KiB at most) gathered into one buffer before the session sees them, so
    // that an upstream gets one write per buffer rather than per record; a bounded number of
    // buffers per event, so that one busy client does not starve the others.
    for (int round = 0; round < 4 && out_.size() < output_limit; ++round) {
        size_t filled = 0;
        auto status = TlsSocket::Status::ok;
        while (filled < sizeof read_buffer) {
            size_t n = 0;
            status = tls_.read(std::span(read_buffer + filled, sizeof read_buffer - filled), n);
            if (status != TlsSocket::Status::ok) break;
            filled += n;
        }
        if (filled && !session_->receive(std::span(read_buffer, filled))) {
            ProxyCounters::add(owner_.counters().protocol_errors);
            session_->output_to(out_, output_limit);  // the GOAWAY, best effort
            write_client();
            return end();
        }
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = tls_.wanted_events() == EPOLLOUT;
            read_stopped_early_ = false;
            return;
        }
        if (status != TlsSocket::Status::ok) return end();
    }
    read_stopped_early_ = true;  // OpenSSL may hold whole records that epoll will not report
}

bool ServerConnection::write_client() {
    tls_wants_write_ = false;
    while (!out_.empty()) {
        size_t n = 0;
        const auto status = tls_.write(out_.front(), n);
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = true;
            return true;
        }
        if (status != TlsSocket::Status::ok) return false;
        out_.pop(n);
    }
    return true;
}

void ServerConnection::pump() {
    if (ended_) return;
    if (pumping_) {  // a link's callback inside this pump: the outer one goes round again
        pump_again_ = true;
        return;
    }
    pumping_ = true;
    do {
        pump_again_ = false;
        for (;;) {
            const size_t before = out_.size();
            session_->output_to(out_, output_limit);
            if (!write_client()) {
                pumping_ = false;
                return end();
            }
            // More may come once the client took this, unless the socket is full or nothing came.
            if (tls_wants_write_ || out_.size() == before) break;
        }
        // Links with room again offer more (they may call back: the ids are taken first).
        std::vector<int32_t> ids;
        for (auto& [id, link] : upstreams_) {
            if (session_->upstream_room(id) > 0) ids.push_back(id);
        }
        for (int32_t id : ids) {
            auto it = upstreams_.find(id);
            if (it != upstreams_.end()) it->second->resume();
        }
    } while (pump_again_ && !ended_);
    pumping_ = false;
    if (ended_) return;
    if (session_->finished() && out_.empty()) return end();
    watch_client();
}

void ServerConnection::watch_client() {
    const uint32_t events = (out_.size() < output_limit ? uint32_t{EPOLLIN} : 0u) | (tls_wants_write_ ? uint32_t{EPOLLOUT} : 0u);
    if (events != watched_) {
        owner_.loop().change(tls_.fd(), events, this);
        watched_ = events;
    }
    if ((events & EPOLLIN) && read_stopped_early_ && tls_.has_buffered()) owner_.loop().call_again(tls_.fd(), this);
}

void ServerConnection::tick(Clock::time_point now) {
    if (ended_) return;
    if (!session_) {
        if (now >= handshake_deadline_) {
            ProxyCounters::add(owner_.counters().handshake_failures[static_cast<size_t>(HandshakeFailure::timeout)]);
            end();
        }
        return;
    }
    switch (keepalive_.check(now, session_->awaiting_ping())) {
        case Keepalive::Due::dead:
            ProxyCounters::add(owner_.counters().keepalive_timeouts);
            return end();
        case Keepalive::Due::ping:
            session_->send_ping();
            pump();
            if (ended_) return;
            break;
        case Keepalive::Due::nothing: break;
    }
    std::vector<int32_t> late;
    for (auto& [id, link] : upstreams_) {
        if (link->expired(now)) late.push_back(id);
    }
    for (int32_t id : late) upstream_connected(id, Outcome::timed_out);
    if (!late.empty()) pump();
}

void ServerConnection::end() {
    if (ended_) return;
    ended_ = true;
    session_.reset();  // releases every upstream (close())
    tls_.shutdown();
    owner_.loop().forget(tls_.fd());
    ProxyCounters::add(owner_.counters().connections_closed);
    owner_.closed(*this);
}

void ServerConnection::open(int32_t stream, const ConnectDecision& decision, const ConnectHeaders& headers) {
    auto up = open_upstream(owner_, *this, stream, decision, headers);
    if (!up.link) return session_->connected(stream, false, up.why);
    upstreams_[stream] = std::move(up.link);
    links_[stream] = {up.endpoint, false};
}

void ServerConnection::release(int32_t stream) {
    auto it = upstreams_.find(stream);
    if (it == upstreams_.end()) return;
    if (links_[stream].up) ProxyCounters::add(owner_.counters().streams_closed);
    links_.erase(stream);
    owner_.loop().retire(std::move(it->second));  // its callback may be running
    upstreams_.erase(it);
}

void ServerConnection::upstream_connected(int32_t stream, Outcome outcome) {
    auto it = links_.find(stream);
    if (it == links_.end()) return;
    report_connect(owner_, it->second.endpoint, outcome);
    if (outcome != Outcome::connected) {
        release(stream);
        session_->connected(stream, false, "connect failed");
        return;
    }
    it->second.up = true;
    ProxyCounters::add(owner_.counters().streams);
    session_->connected(stream, true);
}

size_t ServerConnection::upstream_room(int32_t stream) { return session_ ? session_->upstream_room(stream) : 0; }

size_t ServerConnection::upstream_data(int32_t stream, std::span<const uint8_t> bytes) {
    return session_ ? session_->upstream_data(stream, bytes) : 0;
}

void ServerConnection::upstream_closed(int32_t stream) {
    if (session_) session_->upstream_closed(stream);
}

void ServerConnection::upstream_failed(int32_t stream) {
    if (session_) session_->upstream_failed(stream);
}

void ServerConnection::upstream_writable(int32_t stream) {
    if (session_) session_->upstream_writable(stream);
}

void ServerConnection::upstream_pump() { pump(); }

size_t ServerConnection::write(int32_t stream, std::span<const uint8_t> bytes) {
    auto it = upstreams_.find(stream);
    return it == upstreams_.end() ? 0 : it->second->write(bytes);
}

void ServerConnection::shutdown_write(int32_t stream) {
    auto it = upstreams_.find(stream);
    if (it != upstreams_.end()) it->second->shutdown_write();
}

void ServerConnection::close(int32_t stream) { release(stream); }

void ServerConnection::answered(int32_t, int status) {
    auto& c = owner_.counters();
    switch (status) {
        case 200: break;
        case 400: ProxyCounters::add(c.answered_400); break;
        case 401: ProxyCounters::add(c.answered_401); break;
        case 503: ProxyCounters::add(c.answered_503); break;
        default: ProxyCounters::add(c.answered_other); break;
    }
}

}  // namespace meshgate::hbone
