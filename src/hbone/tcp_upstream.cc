#include "hbone/tcp_upstream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/sockaddr.h"

namespace meshgate::hbone {

namespace {

thread_local uint8_t read_buffer[64 << 10];

}  // namespace

std::unique_ptr<TcpUpstream> TcpUpstream::open(EventLoop& loop, UpstreamEvents& events, ProxyCounters& counters, int32_t stream,
                                               const IpAddress& address, uint16_t port) {
    sockaddr_storage a;
    const socklen_t length = to_sockaddr(address, port, a);
    const int fd = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::unique_ptr<TcpUpstream> u(new TcpUpstream(loop, events, counters, stream, fd));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), length) != 0 && errno != EINPROGRESS) return nullptr;
    u->watch();
    return u;
}

TcpUpstream::TcpUpstream(EventLoop& loop, UpstreamEvents& events, ProxyCounters& counters, int32_t stream, int fd)
    : loop_(loop), events_(events), counters_(counters), stream_(stream), fd_(fd), deadline_(Clock::now() + connect_timeout) {}

TcpUpstream::~TcpUpstream() {
    if (watched_) loop_.forget(fd_);
    ::close(fd_);
}

void TcpUpstream::on_events(uint32_t events) {
    if (connecting_) {
        int error = 0;
        socklen_t length = sizeof error;
        getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error == 0 && !(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        if (error == 0 && (events & EPOLLOUT)) {
            connecting_ = false;
            watch();  // from the connect's EPOLLOUT to reading
            events_.upstream_connected(stream_, UpstreamEvents::Outcome::connected);
        } else {
            // The owner releases this link (freed after this round of events).
            events_.upstream_connected(stream_, error == ETIMEDOUT ? UpstreamEvents::Outcome::timed_out : UpstreamEvents::Outcome::failed);
        }
    } else {
        if (events & EPOLLOUT) {
            wants_write_ = false;
            watch();  // EPOLLOUT again only if the next write finds the socket full
            events_.upstream_writable(stream_);
        }
        if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read();
    }
    events_.upstream_pump();
}

void TcpUpstream::read() {
    while (!read_done_) {
        const size_t room = std::min(events_.upstream_room(stream_), sizeof read_buffer);
        if (room == 0) {
            paused_ = true;  // the rest stays in the socket, and TCP slows the endpoint down
            break;
        }
        const ssize_t n = recv(fd_, read_buffer, room, MSG_DONTWAIT);
        if (n > 0) {
            events_.upstream_data(stream_, std::span(read_buffer, static_cast<size_t>(n)));
            ProxyCounters::add(counters_.bytes_from_upstream, static_cast<uint64_t>(n));
        } else if (n == 0) {
            read_done_ = true;
            events_.upstream_closed(stream_);
        } else if (errno == EAGAIN || errno == EINTR) {
            break;
        } else {
            read_done_ = true;
            events_.upstream_failed(stream_);
        }
    }
    watch();
}

void TcpUpstream::resume() {
    if (!paused_) return;
    paused_ = false;
    watch();
}

void TcpUpstream::watch() {
    const uint32_t events = ((connecting_ || read_done_ || paused_) ? 0u : uint32_t{EPOLLIN}) |
                            ((connecting_ || wants_write_) ? uint32_t{EPOLLOUT} : 0u);
    // Nothing to wait for: out of epoll, which would otherwise report a hang-up over and over.
    if (events == 0) {
        if (watched_) loop_.forget(fd_);
        watched_ = false;
    } else if (!watched_) {
        loop_.watch(fd_, events, this);
        watched_ = true;
    } else if (events != watched_events_) {
        loop_.change(fd_, events, this);
    }
    watched_events_ = events;
}

size_t TcpUpstream::write(std::span<const uint8_t> bytes) {
    if (connecting_) return 0;
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
        ProxyCounters::add(counters_.bytes_to_upstream, static_cast<uint64_t>(n));
        return static_cast<size_t>(n);
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        wants_write_ = true;
        watch();
        return 0;
    }
    // Gone: the stream is reset, the client's bytes dropped with it.
    read_done_ = true;
    watch();
    events_.upstream_failed(stream_);
    return 0;
}

void TcpUpstream::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

}  // namespace meshgate::hbone
