#include "hbone/tls_socket.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace meshgate::hbone {

TlsSocket::~TlsSocket() {
    SSL_free(ssl_);
    close(fd_);
}

TlsSocket::Status TlsSocket::status_of(int result) {
    switch (SSL_get_error(ssl_, result)) {
        case SSL_ERROR_WANT_READ:
            wanted_ = EPOLLIN;
            return Status::again;
        case SSL_ERROR_WANT_WRITE:
            wanted_ = EPOLLOUT;
            return Status::again;
        case SSL_ERROR_ZERO_RETURN:
            return Status::closed;
        default:
            // This thread's OpenSSL error queue must not leak into the next connection's.
            error_ = ERR_peek_last_error();
            ERR_clear_error();
            return Status::failed;
    }
}

TlsSocket::Status TlsSocket::handshake() {
    const int r = SSL_do_handshake(ssl_);
    return r == 1 ? Status::ok : status_of(r);
}

TlsSocket::Status TlsSocket::read(std::span<uint8_t> buffer, size_t& n) {
    const int r = SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n);
    if (r == 1) return Status::ok;
    return status_of(r);
}

TlsSocket::Status TlsSocket::write(std::span<const uint8_t> bytes, size_t& n) {
    const int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &n);
    return r == 1 ? Status::ok : status_of(r);
}

bool TlsSocket::has_buffered() const { return SSL_has_pending(ssl_) == 1; }

void TlsSocket::shutdown() {
    if (SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
}

}  // namespace meshgate::hbone
