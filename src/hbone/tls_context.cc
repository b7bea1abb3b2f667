#include "hbone/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <optional>

#include "hbone/spiffe.h"
#include "hbone/tls_library.h"
#include "hbone/verified_chains.h"

namespace meshgate::hbone {

namespace {

constexpr unsigned char alpn_h2[] = {2, 'h', '2'};

std::string openssl_reason() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char buffer[256];
        ERR_error_string_n(e, buffer, sizeof buffer);
        if (!out.empty()) out += "; ";
        out += buffer;
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& file, const std::string& what) {
    throw TlsError(file + ": " + what + ": " + openssl_reason());
}

std::vector<std::string> spiffe_ids_of(X509* cert) {
    std::vector<std::string> out;
    if (!cert) return out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_URI) continue;
        const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
        const std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)), static_cast<size_t>(ASN1_STRING_length(uri)));
        if (SpiffeId::parse(text)) out.push_back(text);
    }
    GENERAL_NAMES_free(names);
    return out;
}

// The server's answer to the client's ALPN list: "h2", or the handshake fails with
// no_application_protocol.
int select_h2(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in, unsigned int in_length, void*) {
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, out_length, alpn_h2, sizeof alpn_h2, in, in_length) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

bool negotiated_h2(SSL* ssl) {
    const unsigned char* protocol = nullptr;
    unsigned int length = 0;
    SSL_get0_alpn_selected(ssl, &protocol, &length);
    return length == 2 && std::memcmp(protocol, "h2", 2) == 0;
}

// Our private key, read in OpenSSL's default context: tls_library() has no decoder of private
// keys (libssl makes the key usable with its algorithms once, on first use).
EVP_PKEY* read_private_key(const std::string& file) {
    BIO* in = BIO_new_file(file.c_str(), "r");
    if (!in) fail(file, "private key");
    EVP_PKEY* key = PEM_read_bio_PrivateKey_ex(in, nullptr, nullptr, nullptr, nullptr, nullptr);
    BIO_free(in);
    if (!key) fail(file, "private key");
    return key;
}

}  // namespace

std::shared_ptr<const TlsContext> TlsContext::load(Role role, const TlsFiles& files) {
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new_ex(tls_library(), nullptr, role == Role::server ? TLS_server_method() : TLS_client_method());
    if (!ctx) throw TlsError("TLS context: " + openssl_reason());
    auto guard = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>(ctx, SSL_CTX_free);
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256");
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) fail(files.cert, "certificate chain");
    EVP_PKEY* key = read_private_key(files.key);
    const int key_used = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (key_used != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) fail(files.key, "does not match " + files.cert);
        fail(files.key, "private key");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) fail(files.key, "does not match " + files.cert);
    if (SSL_CTX_load_verify_locations(ctx, files.ca_bundle.c_str(), nullptr) != 1) fail(files.ca_bundle, "CA bundle");
    // A certificate file without its chain gets one from the CA bundle. OpenSSL would build it
    // in every handshake (a verification of our own certificate: an eighth of a server
    // handshake's CPU); built once here. It ends before the trust anchor, which a peer that can
    // verify us already has (RFC 8446 §4.4.2) and would otherwise parse in every handshake.
    STACK_OF(X509)* chain = nullptr;
    SSL_CTX_get0_chain_certs(ctx, &chain);
    if (sk_X509_num(chain) <= 0) {
        SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    VerifiedChains::install(ctx);
    // No session is ever resumed: every connection proves its identity afresh.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    // Non-blocking writes from a queue that may move between a want-write and its retry.
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (role == Role::server) {
        // A client's records are read up to 64 KiB at a time, not header then body: a bulk
        // upload took a ninth of the read() calls and half the CPU per byte (hbone_bench). What
        // OpenSSL then holds, epoll cannot see: ServerConnection asks its loop to call it again.
        // The buffer is released whenever it is empty, so an idle connection holds none.
        SSL_CTX_set_read_ahead(ctx, 1);
        SSL_CTX_set_default_read_buffer_len(ctx, 64 * 1024);
        SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_set_alpn_select_cb(ctx, select_h2, nullptr);
    } else if (SSL_CTX_set_alpn_protos(ctx, alpn_h2, sizeof alpn_h2) != 0) {
        throw TlsError("TLS context: ALPN: " + openssl_reason());
    }
    auto identities = spiffe_ids_of(SSL_CTX_get0_certificate(ctx));
    if (identities.empty()) throw TlsError(files.cert + ": the certificate has no SPIFFE id (a URI SAN spiffe://…)");
    return std::shared_ptr<const TlsContext>(new TlsContext(role, guard.release(), std::move(identities)));
}

TlsContext::TlsContext(Role role, SSL_CTX* ctx, std::vector<std::string> identities)
    : role_(role), ctx_(ctx), identities_(std::move(identities)) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

SSL* TlsContext::new_connection() const {
    SSL* ssl = SSL_new(ctx_);
    if (!ssl) return nullptr;
    if (role_ == Role::server) SSL_set_accept_state(ssl);
    else SSL_set_connect_state(ssl);  // and no SSL_set_tlsext_host_name: HBONE sends no SNI
    return ssl;
}

const char* to_string(PeerVerdict v) {
    switch (v) {
        case PeerVerdict::ok: return "ok";
        case PeerVerdict::no_alpn: return "no_alpn";
        case PeerVerdict::no_certificate: return "no_certificate";
        case PeerVerdict::no_identity: return "no_identity";
        case PeerVerdict::wrong_trust_domain: return "wrong_trust_domain";
        case PeerVerdict::wrong_identity: return "wrong_identity";
    }
    return "unknown";
}

std::vector<std::string> peer_identities(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    auto out = spiffe_ids_of(cert);
    X509_free(cert);
    return out;
}

namespace {

// What both sides check first: "h2", a certificate, a SPIFFE id in it (then in `ids`).
std::optional<PeerVerdict> h2_and_identity(SSL* ssl, std::vector<std::string>& ids) {
    if (!negotiated_h2(ssl)) return PeerVerdict::no_alpn;
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return PeerVerdict::no_certificate;
    ids = spiffe_ids_of(cert);
    X509_free(cert);
    if (ids.empty()) return PeerVerdict::no_identity;
    return std::nullopt;
}

}  // namespace

PeerVerdict check_client(SSL* ssl, const std::string& trust_domain) {
    std::vector<std::string> ids;
    if (auto v = h2_and_identity(ssl, ids)) return *v;
    if (trust_domain.empty()) return PeerVerdict::ok;
    for (const auto& id : ids) {
        if (SpiffeId::parse(id)->trust_domain == trust_domain) return PeerVerdict::ok;
    }
    return PeerVerdict::wrong_trust_domain;
}

PeerVerdict check_server(SSL* ssl, const std::vector<std::string>& expected) {
    std::vector<std::string> ids;
    if (auto v = h2_and_identity(ssl, ids)) return *v;
    for (const auto& id : ids) {
        for (const auto& pattern : expected) {
            if (identity_matches(pattern, id)) return PeerVerdict::ok;
        }
    }
    return PeerVerdict::wrong_identity;
}

}  // namespace meshgate::hbone
