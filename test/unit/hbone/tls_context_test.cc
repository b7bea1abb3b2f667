// HBONE's mutual TLS between real OpenSSL endpoints (a BIO pair, one thread), with the
// certificates scripts/lib/make_test_pki.sh makes: Istio-style leaves of a mesh CA, a leaf of
// another trust domain, one of a foreign CA, one without a SPIFFE id.
#include "hbone/tls_context.h"
#include "hbone/verified_chains.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace meshgate::hbone {
namespace {

namespace fs = std::filesystem;

const std::string ztunnel_id = "spiffe://cluster.local/ns/istio-system/sa/ztunnel";
const std::string web_id = "spiffe://cluster.local/ns/shop/sa/web";

class Tls : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        pki_ = new std::string(fs::temp_directory_path() / ("meshgate-pki-" + std::to_string(getpid())));
        const std::string command = "bash " MESHGATE_SOURCE_DIR "/scripts/lib/make_test_pki.sh " + *pki_;
        ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
    static void TearDownTestSuite() {
        fs::remove_all(*pki_);
        delete pki_;
    }
    static TlsFiles files(const std::string& leaf, const std::string& ca = "ca") {
        return {*pki_ + "/" + ca + ".pem", *pki_ + "/" + leaf + ".pem", *pki_ + "/" + leaf + ".key"};
    }

    // A client that is not ours: plain OpenSSL with the given leaf (or none), ALPN list and
    // highest version.
    static SSL* foreign_client(const char* leaf, const std::string& alpn, int max_version = TLS1_3_VERSION) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(ctx, max_version);
        if (leaf) {
            SSL_CTX_use_certificate_chain_file(ctx, (*pki_ + "/" + leaf + ".pem").c_str());
            SSL_CTX_use_PrivateKey_file(ctx, (*pki_ + "/" + leaf + ".key").c_str(), SSL_FILETYPE_PEM);
        }
        if (!alpn.empty()) SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size()));
        SSL* ssl = SSL_new(ctx);
        SSL_CTX_free(ctx);  // the SSL holds its own reference
        SSL_set_connect_state(ssl);
        return ssl;
    }

    struct Outcome {
        bool client_done = false, server_done = false;
    };
    // Runs both handshakes over a BIO pair until each finishes or fails.
    Outcome handshake(SSL* client, SSL* server) {
        BIO *a = nullptr, *b = nullptr;
        BIO_new_bio_pair(&a, 0, &b, 0);
        SSL_set_bio(client, a, a);
        SSL_set_bio(server, b, b);
        Outcome o;
        bool client_failed = false, server_failed = false;
        for (int round = 0; round < 50 && !(client_failed || server_failed) && !(o.client_done && o.server_done); ++round) {
            for (auto [ssl, done, failed] : {std::tuple{client, &o.client_done, &client_failed}, std::tuple{server, &o.server_done, &server_failed}}) {
                if (*done || *failed) continue;
                const int rc = SSL_do_handshake(ssl);
                if (rc == 1) *done = true;
                else if (const int e = SSL_get_error(ssl, rc); e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) *failed = true;
            }
        }
        // TLS 1.3: the client is done before the server has judged its certificate; a refusal
        // reaches it as an alert when it next reads.
        if (o.client_done && !o.server_done) {
            char byte;
            SSL_read(client, &byte, 1);
        }
        ERR_clear_error();
        return o;
    }

    void TearDown() override {
        for (SSL* ssl : owned_) SSL_free(ssl);
    }
    SSL* own(SSL* ssl) {
        owned_.push_back(ssl);
        return ssl;
    }

    static std::string* pki_;
    std::vector<SSL*> owned_;
};
std::string* Tls::pki_ = nullptr;

TEST_F(Tls, MutualHandshakeOnH2WithEachOthersSpiffeId) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    EXPECT_EQ(server_ctx->identities(), std::vector<std::string>{ztunnel_id});
    SSL* server = own(server_ctx->new_connection());
    SSL* client = own(client_ctx->new_connection());
    const Outcome o = handshake(client, server);
    ASSERT_TRUE(o.client_done && o.server_done);
    EXPECT_EQ(SSL_version(server), TLS1_3_VERSION);
    EXPECT_EQ(SSL_get_servername(server, TLSEXT_NAMETYPE_host_name), nullptr) << "HBONE clients send no SNI";
    EXPECT_EQ(check_client(server, "cluster.local"), PeerVerdict::ok);
    EXPECT_EQ(peer_identities(server), std::vector<std::string>{web_id});
    EXPECT_EQ(check_server(client, {ztunnel_id}), PeerVerdict::ok);
    EXPECT_EQ(check_server(client, {"spiffe://cluster.local/ns/istio-system/sa/*"}), PeerVerdict::ok);
    EXPECT_FALSE(SSL_session_reused(client));
}

TEST_F(Tls, TheClientRefusesAServerItDidNotExpect) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    SSL* server = own(server_ctx->new_connection());
    SSL* client = own(client_ctx->new_connection());
    ASSERT_TRUE(handshake(client, server).client_done);
    EXPECT_EQ(check_server(client, {"spiffe://cluster.local/ns/shop/sa/*"}), PeerVerdict::wrong_identity);
    EXPECT_EQ(check_server(client, {}), PeerVerdict::wrong_identity) << "no expected identity accepts no server";
}

TEST_F(Tls, AClientOfAnotherTrustDomainIsRefused) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("other-td"));
    SSL* server = own(server_ctx->new_connection());
    ASSERT_TRUE(handshake(own(client_ctx->new_connection()), server).server_done) << "same CA: the chain is fine";
    EXPECT_EQ(check_client(server, "cluster.local"), PeerVerdict::wrong_trust_domain);
    EXPECT_EQ(check_client(server, "other.example"), PeerVerdict::ok);
}

TEST_F(Tls, AClientOfAnotherCaOrWithoutCertificateFailsTheHandshake) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto foreign_ctx = TlsContext::load(TlsContext::Role::client, files("foreign", "foreign-ca"));
    EXPECT_FALSE(handshake(own(foreign_ctx->new_connection()), own(server_ctx->new_connection())).server_done);
    EXPECT_FALSE(handshake(own(foreign_client(nullptr, std::string("\x02h2", 3))), own(server_ctx->new_connection())).server_done);
    // And a client does not accept a server of another CA.
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    const auto foreign_server = TlsContext::load(TlsContext::Role::server, files("foreign", "foreign-ca"));
    EXPECT_FALSE(handshake(own(client_ctx->new_connection()), own(foreign_server->new_connection())).client_done);
}

TEST_F(Tls, OnlyTls13AndH2) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const std::string h2("\x02h2", 3), http11("\x08http/1.1", 9);
    EXPECT_FALSE(handshake(own(foreign_client("web", h2, TLS1_2_VERSION)), own(server_ctx->new_connection())).server_done);
    EXPECT_FALSE(handshake(own(foreign_client("web", http11)), own(server_ctx->new_connection())).server_done)
        << "no_application_protocol";
    // A client that offers no ALPN at all completes TLS but is not an HBONE peer.
    SSL* server = own(server_ctx->new_connection());
    ASSERT_TRUE(handshake(own(foreign_client("web", "")), server).server_done);
    EXPECT_EQ(check_client(server, "cluster.local"), PeerVerdict::no_alpn);
}

// A certificate file with the leaf alone goes out with the chain to the CA (built once, when
// the context is made), as OpenSSL's per-handshake chain building sent it.
// Subject names of a chain, one line each (Istio leaves have an empty subject).
std::vector<std::string> subjects(STACK_OF(X509)* chain) {
    std::vector<std::string> out;
    for (int i = 0; i < sk_X509_num(chain); ++i) {
        char line[256];
        X509_NAME_oneline(X509_get_subject_name(sk_X509_value(chain, i)), line, sizeof line);
        out.emplace_back(line);
    }
    return out;
}

// A certificate file without its chain gets one from the CA bundle, built when the context is
// made: the intermediates go out with the leaf, the trust anchor does not (RFC 8446 §4.4.2; a
// peer that can verify us has it, and parsing it cost the peer a tenth of a handshake).
TEST_F(Tls, EachSideSendsItsChainWithoutTheTrustAnchor) {
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    {
        const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
        SSL* server = own(server_ctx->new_connection());
        SSL* client = own(client_ctx->new_connection());
        ASSERT_TRUE(handshake(client, server).server_done);
        // The client's view includes the server's leaf; the server's view is the chain after
        // the client's leaf.
        EXPECT_EQ(subjects(SSL_get_peer_cert_chain(client)), std::vector<std::string>{""});
        EXPECT_EQ(subjects(SSL_get_peer_cert_chain(server)), std::vector<std::string>{});
    }
    // The waypoint's file holds its leaf only; its CA bundle holds the mesh CA and the
    // intermediate that issued the leaf.
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("waypoint", "ca-and-intermediate"));
    SSL* server = own(server_ctx->new_connection());
    SSL* client = own(client_ctx->new_connection());
    ASSERT_TRUE(handshake(client, server).server_done);
    EXPECT_EQ(subjects(SSL_get_peer_cert_chain(client)), (std::vector<std::string>{"", "/O=cluster.local intermediate"}));
    EXPECT_EQ(check_server(client, {"spiffe://cluster.local/ns/shop/sa/waypoint"}), PeerVerdict::ok);
}

// Istio's own CA makes RSA keys unless told otherwise: an RSA leaf of an RSA CA on both sides
// (RSA-PSS CertificateVerify, PKCS#1 certificate signatures).
TEST_F(Tls, RsaLeavesOfAnRsaCa) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("rsa-web", "rsa-ca"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("rsa-web", "rsa-ca"));
    SSL* server = own(server_ctx->new_connection());
    SSL* client = own(client_ctx->new_connection());
    const auto outcome = handshake(client, server);
    ASSERT_TRUE(outcome.client_done && outcome.server_done);
    EXPECT_EQ(check_client(server, "cluster.local"), PeerVerdict::ok);
    EXPECT_EQ(check_server(client, {web_id}), PeerVerdict::ok);
    EXPECT_EQ(peer_identities(server), std::vector<std::string>{web_id});
}

// A peer's chain is verified in full once; the same chain again is answered from memory, on
// both sides. A chain that fails is verified, and refused, every time.
TEST_F(Tls, AChainVerifiedOnceIsRemembered) {
    const auto start = VerifiedChains::totals();
    auto since_start = [&] {
        const auto now = VerifiedChains::totals();
        return std::pair{now.verified - start.verified, now.remembered - start.remembered};
    };
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    for (int i = 0; i < 3; ++i) {
        SSL* server = own(server_ctx->new_connection());
        SSL* client = own(client_ctx->new_connection());
        ASSERT_TRUE(handshake(client, server).server_done) << "handshake " << i;
        EXPECT_EQ(check_client(server, "cluster.local"), PeerVerdict::ok);
        EXPECT_EQ(check_server(client, {ztunnel_id}), PeerVerdict::ok);
    }
    EXPECT_EQ(since_start(), std::pair(uint64_t{2}, uint64_t{4})) << "each side verifies once, then remembers twice";

    const std::string h2("\x02h2", 3);
    for (int i = 0; i < 2; ++i) {
        EXPECT_FALSE(handshake(own(foreign_client("foreign", h2)), own(server_ctx->new_connection())).server_done);
        EXPECT_FALSE(handshake(own(foreign_client("expired", h2)), own(server_ctx->new_connection())).server_done);
    }
    EXPECT_EQ(since_start(), std::pair(uint64_t{6}, uint64_t{4})) << "4 refusals, each verified";
    // Another context (a reload) remembers nothing of this one's; the client still does.
    const auto reloaded = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    ASSERT_TRUE(handshake(own(client_ctx->new_connection()), own(reloaded->new_connection())).server_done);
    EXPECT_EQ(since_start(), std::pair(uint64_t{7}, uint64_t{5}));
}

TEST_F(Tls, BadFilesAreNamed) {
    auto error_of = [](const TlsFiles& f) {
        try {
            TlsContext::load(TlsContext::Role::server, f);
        } catch (const TlsError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    TlsFiles missing = files("web");
    missing.cert = *pki_ + "/absent.pem";
    EXPECT_NE(error_of(missing).find(*pki_ + "/absent.pem: certificate chain"), std::string::npos) << error_of(missing);
    TlsFiles mismatched = files("web");
    mismatched.key = *pki_ + "/ztunnel.key";
    EXPECT_NE(error_of(mismatched).find("does not match"), std::string::npos) << error_of(mismatched);
    EXPECT_NE(error_of(files("no-spiffe")).find("no SPIFFE id"), std::string::npos) << error_of(files("no-spiffe"));
    TlsFiles no_ca = files("web");
    no_ca.ca_bundle = *pki_ + "/web.key";
    EXPECT_NE(error_of(no_ca).find("CA bundle"), std::string::npos) << error_of(no_ca);
}

}  // namespace
}  // namespace meshgate::hbone
