#include "hbone/client_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/sockaddr.h"
#include "hbone/client_pool.h"

namespace meshgate::hbone {

namespace {

constexpr size_t output_limit = 256 << 10;
thread_local uint8_t read_buffer[64 << 10];

}  // namespace

ClientConnection::ClientConnection(ClientPool& pool, EventLoop& loop, ProxyCounters& counters, std::shared_ptr<const TlsContext> tls,
                                   const SocketAddress& destination, std::string identity)
    : pool_(pool), loop_(loop), counters_(counters), tls_context_(std::move(tls)), destination_(destination),
      identity_(std::move(identity)), deadline_(Clock::now() + handshake_timeout) {
    ProxyCounters::add(counters_.pool_connections);
    if (!start()) {
        ProxyCounters::add(counters_.pool_connect_failures);
        closed_ = true;  // the pool sees failed() and drops it
    }
}

ClientConnection::~ClientConnection() {
    session_.reset();
    if (fd_ >= 0 && watched_) loop_.forget(fd_);
    if (!tls_ && fd_ >= 0) ::close(fd_);  // else the TlsSocket closes it
}

bool ClientConnection::start() {
    sockaddr_storage a;
    const socklen_t length = to_sockaddr(destination_, a);
    fd_ = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&a), length) != 0 && errno != EINPROGRESS) return false;
    watched_ = EPOLLOUT;
    loop_.watch(fd_, watched_, this);
    return true;
}

bool ClientConnection::accepts() const {
    if (closed_) return false;
    if (!session_) return pending_.size() < ClientPool::max_streams;
    return !session_->going_away() && session_->streams() < ClientPool::max_streams;
}

bool ClientConnection::idle_since(Clock::time_point before) const {
    if (!session_) return false;
    return session_->streams() == 0 && session_->last_stream() < before;
}

void ClientConnection::add(HboneUpstream& link) {
    if (closed_) {
        link.answered_ = true;
        link.events_.upstream_connected(link.owner_stream_, UpstreamEvents::Outcome::failed);
        return;
    }
    if (!session_) {
        link.waiting_on_ = this;
        pending_.push_back(&link);
        return;
    }
    session_->add(link);
    pump();
}

void ClientConnection::unqueue(HboneUpstream& link) {
    pending_.erase(std::remove(pending_.begin(), pending_.end(), &link), pending_.end());
    link.waiting_on_ = nullptr;
}

void ClientConnection::on_events(uint32_t events) {
    if (closed_) return;
    if (!connected_) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0 || !(events & EPOLLOUT)) {
            ProxyCounters::add(counters_.pool_connect_failures);
            return close();
        }
        connected_ = true;
        SSL* ssl = tls_context_->new_connection();
        SSL_set_fd(ssl, fd_);
        tls_ = std::make_unique<TlsSocket>(fd_, ssl);  // owns the socket from now on
    }
    if (!session_) return handshake();
    read();
}

void ClientConnection::handshake() {
    const auto status = tls_->handshake();
    if (status == TlsSocket::Status::again) {
        // EPOLLOUT of the connect becomes EPOLLIN once; then each flight waits to read again.
        if (const uint32_t wanted = tls_->wanted_events(); wanted != watched_) {
            watched_ = wanted;
            loop_.change(fd_, watched_, this);
        }
        return;
    }
    if (status != TlsSocket::Status::ok || check_server(tls_->ssl(), {identity_}) != PeerVerdict::ok) {
        ProxyCounters::add(counters_.pool_handshake_failures);
        return close();
    }
    session_ = std::make_unique<ClientSession>(counters_, [this] { pump(); });
    keepalive_.emplace(Clock::now());
    auto waiting = std::move(pending_);
    pending_.clear();
    for (auto* link : waiting) {
        link->waiting_on_ = nullptr;
        session_->add(*link);
    }
    pump();
}

void ClientConnection::read() {
    busy_ = true;
    for (int i = 0; i < 16; ++i) {
        size_t n = 0;
        const auto status = tls_->read(read_buffer, n);
        if (status == TlsSocket::Status::again) {
            tls_wants_write_ = tls_->wanted_events() == EPOLLOUT;
            break;
        }
        if (status != TlsSocket::Status::ok || !session_->receive(std::span(read_buffer, n))) {
            busy_ = false;
            return close();
        }
    }
    busy_ = false;
    pump();
}

void ClientConnection::pump() {
    if (closed_ || !session_) return;
    if (busy_) {
        pump_again_ = true;
        return;
    }
    busy_ = true;
    do {
        pump_again_ = false;
        session_->output_to(out_, output_limit);
        tls_wants_write_ = false;
        while (!out_.empty()) {
            size_t n = 0;
            const auto status = tls_->write(out_.front(), n);
            if (status == TlsSocket::Status::again) {
                tls_wants_write_ = true;
                break;
            }
            if (status != TlsSocket::Status::ok) {
                busy_ = false;
                return close();
            }
            out_.pop(n);
        }
        if (!tls_wants_write_ && out_.empty() && session_->wants_output()) pump_again_ = true;
    } while (pump_again_);
    busy_ = false;
    session_->notify();  // the owners may write: a nested pump() then runs
    if (closed_) return;
    if (session_->going_away() && session_->streams() == 0) return close();
    watch();
}

void ClientConnection::watch() {
    const uint32_t events = EPOLLIN | (tls_wants_write_ ? uint32_t{EPOLLOUT} : 0u);
    if (events != watched_) {
        loop_.change(fd_, events, this);
        watched_ = events;
    }
}

void ClientConnection::tick(Clock::time_point now) {
    if (closed_) return;
    if (!session_) {
        if (now >= deadline_) {
            ProxyCounters::add(counters_.pool_handshake_failures);
            close();
        }
        return;
    }
    switch (keepalive_->check(now, session_->awaiting_ping())) {
        case Keepalive::Due::dead:
            ProxyCounters::add(counters_.keepalive_timeouts);
            return close();
        case Keepalive::Due::ping:
            session_->send_ping();
            pump();
            break;
        case Keepalive::Due::nothing: break;
    }
}

void ClientConnection::close() {
    if (ended_) return;
    ended_ = closed_ = true;
    auto waiting = std::move(pending_);
    pending_.clear();
    std::vector<UpstreamEvents*> owners;
    for (auto* link : waiting) {
        link->waiting_on_ = nullptr;
        link->answered_ = true;
        link->events_.upstream_connected(link->owner_stream_, UpstreamEvents::Outcome::failed);
        owners.push_back(&link->events_);
    }
    std::sort(owners.begin(), owners.end());
    owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
    for (auto* o : owners) o->upstream_pump();
    if (session_) session_->fail_all();
    if (tls_) tls_->shutdown();
    pool_.closed(*this);
}

}  // namespace meshgate::hbone
