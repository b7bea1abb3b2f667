#pragma once

#include <cstdint>
#include <span>

typedef struct ssl_st SSL;

namespace meshgate::hbone {

// A non-blocking TLS connection over a TCP socket: OpenSSL's want-read / want-write turned
// into the epoll events to wait for. Owns the socket and the SSL.
class TlsSocket {
public:
    enum class Status {
        ok,          // done (handshake) or some bytes moved
        again,       // wait for wanted_events()
        closed,      // the peer closed cleanly (close_notify or EOF)
        failed,      // a TLS or socket error: drop the connection
    };

    TlsSocket(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
    ~TlsSocket();
    TlsSocket(const TlsSocket&) = delete;
    TlsSocket& operator=(const TlsSocket&) = delete;

    Status handshake();
    // Reads into `buffer`; `n` is how many bytes came (only with ok).
    Status read(std::span<uint8_t> buffer, size_t& n);
    // Writes from `bytes`; `n` is how many were taken (only with ok).
    Status write(std::span<const uint8_t> bytes, size_t& n);
    // Sends close_notify, best effort (never waits).
    void shutdown();

    // Bytes OpenSSL has read from the socket and not yet handed out (read-ahead): epoll will
    // not report them again.
    bool has_buffered() const;
    // EPOLLIN or EPOLLOUT: what the last `again` waits for.
    uint32_t wanted_events() const { return wanted_; }
    int fd() const { return fd_; }
    // OpenSSL's error code of the last `failed` (0: a socket error or EOF).
    unsigned long error() const { return error_; }
    SSL* ssl() const { return ssl_; }

private:
    Status status_of(int result);
    int fd_;
    SSL* ssl_;
    uint32_t wanted_ = 0;
    unsigned long error_ = 0;
};

}  // namespace meshgate::hbone
