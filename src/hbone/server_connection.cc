#include "hbone/server_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/sockaddr.h"
#include "hbone/tls_context.h"

namespace meshgate::hbone {

namespace {

// One read's worth from either side; the thread's loop reads one socket at a time.
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

// The TCP connection behind one admitted CONNECT stream.
class ServerConnection::Upstream final : public EventLoop::Handler {
public:
    Upstream(ServerConnection& connection, int32_t stream, int fd)
        : connection_(connection), stream_(stream), fd_(fd), deadline_(Clock::now() + connect_timeout) {}
    ~Upstream() override { ::close(fd_); }

    void on_events(uint32_t events) override {
        if (gone_ || connection_.ended_) return;
        if (connecting_) {
            int error = 0;
            socklen_t length = sizeof error;
            getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
            connection_.upstream_connected(*this, error ? error : ((events & EPOLLOUT) ? 0 : ECONNREFUSED));
        } else {
            if (events & EPOLLOUT) {
                wants_write_ = false;
                connection_.session_->upstream_writable(stream_);
            }
            if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read();
        }
        connection_.pump();
    }

    // Reads while the stream has room; pauses (no EPOLLIN) when it has none.
    void read() {
        ConnectSession& session = *connection_.session_;
        while (!read_done_ && !gone_) {
            const size_t room = session.upstream_room(stream_);
            if (room == 0) {
                paused_ = true;
                return;
            }
            const ssize_t n = recv(fd_, read_buffer, std::min(room, sizeof read_buffer), MSG_DONTWAIT);
            if (n > 0) {
                session.upstream_data(stream_, std::span(read_buffer, static_cast<size_t>(n)));
                ProxyCounters::add(connection_.owner_.counters().bytes_from_upstream, static_cast<uint64_t>(n));
            } else if (n == 0) {
                read_done_ = true;
                session.upstream_closed(stream_);
            } else if (errno == EAGAIN || errno == EINTR) {
                return;
            } else {
                read_done_ = true;
                session.upstream_failed(stream_);
            }
        }
    }

    // The events this upstream waits for now; re-armed when they change.
    void watch(EventLoop& loop) {
        if (gone_) return;
        if (paused_ && connection_.session_->upstream_room(stream_) > 0) paused_ = false;
        const uint32_t events = ((connecting_ || read_done_ || paused_) ? 0u : uint32_t{EPOLLIN}) |
                                ((connecting_ || wants_write_) ? uint32_t{EPOLLOUT} : 0u);
        // Nothing to wait for: out of epoll, which would otherwise report a hang-up over and over.
        if (events == 0) {
            if (watched_) loop.forget(fd_);
            watched_ = false;
        } else if (!watched_) {
            loop.watch(fd_, events, this);
            watched_ = true;
        } else if (events != events_) {
            loop.change(fd_, events, this);
        }
        events_ = events;
    }

    ServerConnection& connection_;
    const int32_t stream_;
    const int fd_;
    const Clock::time_point deadline_;
    bool connecting_ = true, wants_write_ = false, read_done_ = false, paused_ = false, gone_ = false;
    bool watched_ = false;
    uint32_t events_ = 0;
};

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
        watched_ = tls_.wanted_events();
        owner_.loop().change(tls_.fd(), watched_, this);
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
    // A bounded number of reads per event, so that one busy client does not starve the others.
    for (int i = 0; i < 16 && out_.size() < output_limit; ++i) {
        size_t n = 0;
        const auto status = tls_.read(read_buffer, n);
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = tls_.wanted_events() == EPOLLOUT;
            return;
        }
        if (status != TlsSocket::Status::ok) return end();
        if (!session_->receive(std::span(read_buffer, n))) {
            ProxyCounters::add(owner_.counters().protocol_errors);
            session_->output_to(out_, output_limit);  // the GOAWAY, best effort
            write_client();
            return end();
        }
    }
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
    for (;;) {
        const size_t before = out_.size();
        session_->output_to(out_, output_limit);
        if (!write_client()) return end();
        // More may come once the client took this, unless the socket is full or nothing came.
        if (tls_wants_write_ || out_.size() == before) break;
    }
    if (session_->finished() && out_.empty()) return end();
    for (auto& [id, u] : upstreams_) u->watch(owner_.loop());
    watch_client();
}

void ServerConnection::watch_client() {
    const uint32_t events = (out_.size() < output_limit ? uint32_t{EPOLLIN} : 0u) | (tls_wants_write_ ? uint32_t{EPOLLOUT} : 0u);
    if (events != watched_) {
        owner_.loop().change(tls_.fd(), events, this);
        watched_ = events;
    }
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
    bool late = false;
    for (auto& [id, u] : upstreams_) {
        if (u->connecting_ && now >= u->deadline_) {
            upstream_connected(*u, ETIMEDOUT);
            late = true;
            break;  // upstream_connected changed upstreams_
        }
    }
    if (late && !ended_) pump();
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

void ServerConnection::open(int32_t stream, const ConnectDecision& decision, const ConnectHeaders&) {
    const Catalog& catalog = owner_.catalog();
    const Config& config = catalog.config();
    uint32_t endpoint = decision.endpoint ? *decision.endpoint : catalog.backends(decision.service).pick(owner_.stream_hash());
    if (endpoint == lb::SelectionTable::no_endpoint || endpoint >= config.endpoints.size()) {
        return session_->connected(stream, false, "no endpoint to select");
    }
    const Endpoint& e = config.endpoints[endpoint];
    if (!e.address) return session_->connected(stream, false, "the endpoint has no address");
    if (e.hbone) return session_->connected(stream, false, "the endpoint is reached through HBONE, which this proxy does not originate yet");
    sockaddr_storage address;
    const socklen_t length = to_sockaddr(*e.address, e.port ? *e.port : decision.target_port, address);
    const int fd = socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return session_->connected(stream, false, "socket: out of descriptors");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto u = std::make_unique<Upstream>(*this, stream, fd);
    if (connect(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 && errno != EINPROGRESS) {
        ProxyCounters::add(owner_.counters().upstream_connect_failures);
        return session_->connected(stream, false, "connect failed");
    }
    u->watch(owner_.loop());
    upstreams_[stream] = std::move(u);
}

void ServerConnection::upstream_connected(Upstream& u, int error) {
    const int32_t stream = u.stream_;
    if (error) {
        ProxyCounters::add(owner_.counters().upstream_connect_failures);
        u.gone_ = true;
        owner_.loop().forget(u.fd_);
        auto it = upstreams_.find(stream);
        owner_.loop().retire(std::move(it->second));
        upstreams_.erase(it);
        session_->connected(stream, false, "connect failed");
        return;
    }
    u.connecting_ = false;
    ProxyCounters::add(owner_.counters().streams);
    session_->connected(stream, true);
}

size_t ServerConnection::write(int32_t stream, std::span<const uint8_t> bytes) {
    auto it = upstreams_.find(stream);
    if (it == upstreams_.end() || it->second->gone_) return 0;
    Upstream& u = *it->second;
    const ssize_t n = send(u.fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
        ProxyCounters::add(owner_.counters().bytes_to_upstream, static_cast<uint64_t>(n));
        return static_cast<size_t>(n);
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        u.wants_write_ = true;
        return 0;
    }
    // The upstream is gone: its stream is reset; the client's bytes are dropped with it.
    u.read_done_ = true;
    session_->upstream_failed(stream);
    return 0;
}

void ServerConnection::shutdown_write(int32_t stream) {
    auto it = upstreams_.find(stream);
    if (it != upstreams_.end()) ::shutdown(it->second->fd_, SHUT_WR);
}

void ServerConnection::close(int32_t stream) {
    auto it = upstreams_.find(stream);
    if (it == upstreams_.end()) return;
    Upstream& u = *it->second;
    if (!u.connecting_) ProxyCounters::add(owner_.counters().streams_closed);
    u.gone_ = true;
    if (u.watched_) owner_.loop().forget(u.fd_);
    owner_.loop().retire(std::move(it->second));
    upstreams_.erase(it);
}

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
