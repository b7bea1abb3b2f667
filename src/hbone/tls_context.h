#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace meshgate::hbone {

// The files of a node's mesh identity ([hbone]): the CA bundle it trusts, its certificate
// chain (leaf first) and its private key, all PEM.
struct TlsFiles {
    std::string ca_bundle;
    std::string cert;
    std::string key;
};

// A TLS file that cannot be used: names the file and OpenSSL's reason.
class TlsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One side's OpenSSL context, configured as HBONE wants it (istio-semantics.md §8.1): TLS 1.3
// only, AES-GCM suites, ALPN "h2" required, the peer's certificate required and verified
// against the CA bundle (a chain it verified before is remembered: VerifiedChains). As a client
// it sends no SNI and never resumes a session. Immutable once made: a reload makes a new one,
// and connections keep the one they started with.
class TlsContext {
public:
    enum class Role { server, client };

    // Throws TlsError naming the file that is missing, unreadable or wrong (a key that does
    // not match the certificate, a certificate with no SPIFFE id).
    static std::shared_ptr<const TlsContext> load(Role role, const TlsFiles& files);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    Role role() const { return role_; }
    // The SPIFFE ids of this node's own certificate.
    const std::vector<std::string>& identities() const { return identities_; }
    // A new connection's SSL, in the role's state (accept or connect); the caller owns it.
    SSL* new_connection() const;

private:
    TlsContext(Role role, SSL_CTX* ctx, std::vector<std::string> identities);
    Role role_;
    SSL_CTX* ctx_;
    std::vector<std::string> identities_;
};

// What a finished handshake says of the peer, beyond the chain OpenSSL verified.
enum class PeerVerdict {
    ok,
    no_alpn,             // the peer did not agree on "h2"
    no_certificate,      // the peer sent none (a server never accepts that)
    no_identity,         // its certificate has no SPIFFE URI SAN
    wrong_trust_domain,  // a client from another trust domain
    wrong_identity,      // a server that is not one of the expected identities
};
const char* to_string(PeerVerdict v);

// The SPIFFE ids (URI SANs) of the peer's certificate.
std::vector<std::string> peer_identities(SSL* ssl);
// The server's check of a client: "h2", and a SPIFFE id in `trust_domain` (any, when empty).
PeerVerdict check_client(SSL* ssl, const std::string& trust_domain);
// The client's check of a server: "h2", and a SPIFFE id among `expected` (identity_matches
// patterns); an empty list accepts no server.
PeerVerdict check_server(SSL* ssl, const std::vector<std::string>& expected);

}  // namespace meshgate::hbone
