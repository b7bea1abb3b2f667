#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <deque>
#include <mutex>
#include <unordered_map>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_ctx_st X509_STORE_CTX;

namespace meshgate::hbone {

// The certificate chains one TLS context has verified lately. A mesh peer opens many
// connections with one certificate (a ztunnel's lasts a day), and verifying its chain again is
// about a tenth of a server handshake's CPU (OpenSSL 3.0: building the chain and checking its
// signature; hbone_bench setup). A chain presented byte for byte as before, against the same trust
// store and verify settings (one context has one of each), gets the same answer as long as
// every certificate of it is still within its validity. Only successes are remembered: a
// chain that failed is verified, and counted, every time. The peer still proves that it holds
// the key (CertificateVerify), and its SPIFFE id is still checked, on every handshake. This holds
// while no connection changes its verify settings from the context's (meshgate changes none).
class VerifiedChains {
public:
    // SHA-256 over the DER of the certificates the peer presented, in order.
    using Digest = std::array<uint8_t, 32>;

    explicit VerifiedChains(size_t capacity = 4096) : capacity_(capacity) {}

    // True when `chain` verified before and `now` is within [not_before, not_after) of that
    // verification.
    bool known(const Digest& chain, time_t now) const;
    // A chain that verified, with the latest notBefore and the earliest notAfter of the
    // certificates its verification used. The oldest goes when `capacity` are held.
    void remember(const Digest& chain, time_t not_before, time_t not_after);
    size_t size() const;

    // Makes `ctx` verify its peers' chains through a VerifiedChains of its own, which lives as
    // long as the context does (SSL objects may outlive the TlsContext that made them).
    static void install(SSL_CTX* ctx);

    // Peer chains verified in full, and answered from memory, by every context of the process
    // since it started (contexts come and go with reloads; these only grow).
    struct Totals {
        uint64_t verified = 0, remembered = 0;
    };
    static Totals totals();

private:
    struct DigestHash {
        size_t operator()(const Digest& d) const;
    };
    struct Window {
        time_t not_before, not_after;
    };
    static int verify(X509_STORE_CTX* store, void* self);

    size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<Digest, Window, DigestHash> windows_;
    std::deque<Digest> order_;  // oldest first
};

}  // namespace meshgate::hbone
