#include "hbone/tcp_downstream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "hbone/server_connection.h"
#include "hbone/upstream_open.h"

namespace meshgate::hbone {

namespace {

thread_local uint8_t read_buffer[64 << 10];

// RFC 7239: an IPv6 address is quoted and bracketed.
std::string forwarded_for(const SocketAddress& client) {
    const std::string a = client.address.to_string();
    return client.address.is_v4() ? "for=" + a : "for=\"[" + a + "]\"";
}

}  // namespace

TcpDownstream::TcpDownstream(ConnectionOwner& owner, int fd, const SocketAddress& client, const ConnectDecision& decision)
    : owner_(owner), fd_(fd) {
    ProxyCounters::add(owner_.counters().gateway_connections);
    ConnectHeaders headers;
    headers.forwarded = forwarded_for(client);
    auto up = open_upstream(owner_, *this, 0, decision, headers);
    endpoint_ = up.endpoint;
    if (ended_) return;  // the link failed while it was being opened
    if (!up.link) {
        end(true);
        return;
    }
    link_ = std::move(up.link);
    owner_.loop().watch(fd_, 0, this);  // nothing read until the tunnel is up
    registered_ = true;
}

TcpDownstream::~TcpDownstream() {
    if (!ended_) end(true);
}

void TcpDownstream::upstream_connected(int32_t, Outcome outcome) {
    report_connect(owner_, endpoint_, outcome);
    if (outcome != Outcome::connected) return end(true);
    up_ = true;
    ProxyCounters::add(owner_.counters().streams);
    read_client();
}

size_t TcpDownstream::upstream_room(int32_t) { return ended_ ? 0 : buffer - std::min(buffer, to_client_.size()); }

size_t TcpDownstream::upstream_data(int32_t, std::span<const uint8_t> bytes) {
    const size_t n = std::min(bytes.size(), upstream_room(0));
    to_client_.append(bytes.first(n));
    return n;
}

void TcpDownstream::upstream_closed(int32_t) {
    far_done_ = true;
    flush_client();
}

void TcpDownstream::read_client() {
    if (ended_ || !up_) return;
    for (;;) {
        while (!to_link_.empty()) {
            const size_t n = link_->write(to_link_.front());
            if (n == 0) return watch();  // the link says when it takes more (upstream_writable)
            to_link_.pop(n);
        }
        if (client_done_) break;
        const ssize_t r = ::read(fd_, read_buffer, sizeof read_buffer);
        if (r > 0) {
            to_link_.append(std::span<const uint8_t>(read_buffer, static_cast<size_t>(r)));
            continue;
        }
        if (r == 0) {
            client_done_ = true;
            break;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return watch();
        if (errno == EINTR) continue;
        return end(true);
    }
    if (client_done_ && to_link_.empty() && !link_shut_) {
        link_shut_ = true;
        link_->shutdown_write();
    }
    if (client_done_ && fin_sent_) return end(false);
    watch();
}

void TcpDownstream::flush_client() {
    if (ended_) return;
    const size_t before = to_client_.size();
    while (!to_client_.empty()) {
        const auto chunk = to_client_.front();
        const ssize_t w = ::send(fd_, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (w > 0) {
            to_client_.pop(static_cast<size_t>(w));
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return end(true);
    }
    if (to_client_.size() < before && link_) link_->resume();  // room again: the link may offer more
    if (ended_) return;
    if (far_done_ && to_client_.empty() && !fin_sent_) {
        fin_sent_ = true;
        ::shutdown(fd_, SHUT_WR);
    }
    if (fin_sent_ && client_done_ && link_shut_) return end(false);
    watch();
}

void TcpDownstream::on_events(uint32_t events) {
    if (ended_) return;
    if (events & EPOLLERR) return end(true);
    if (events & EPOLLOUT) flush_client();
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) read_client();
}

void TcpDownstream::watch() {
    if (ended_ || !registered_) return;
    uint32_t events = 0;
    if (up_ && !client_done_ && to_link_.empty()) events |= EPOLLIN;
    if (!to_client_.empty()) events |= EPOLLOUT;
    if (events != watched_) {
        owner_.loop().change(fd_, events, this);
        watched_ = events;
    }
}

void TcpDownstream::tick(Clock::time_point now) {
    if (!ended_ && !up_ && link_ && link_->expired(now)) upstream_connected(0, Outcome::timed_out);
}

void TcpDownstream::end(bool reset) {
    if (ended_) return;
    ended_ = true;
    if (up_) ProxyCounters::add(owner_.counters().streams_closed);
    owner_.loop().retire(std::move(link_));  // its callback may be running
    if (registered_) owner_.loop().forget(fd_);
    if (reset) {
        linger l{1, 0};  // close() sends RST
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd_);
    owner_.closed(*this);
}

}  // namespace meshgate::hbone
