// What an HBONE handshake costs in OpenSSL, in-process (no sockets): parsing a peer's
// certificate in OpenSSL's default library context (the baseline) and in HBONE's own
// (hbone::tls_library), and one whole mutual handshake between two TlsContexts.
// Certificates from scripts/lib/make_test_pki.sh: EC P-256 leaves as ztunnel's, an RSA leaf
// as istiod makes by default.
#include <benchmark/benchmark.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "hbone/tls_context.h"
#include "hbone/tls_library.h"

namespace {

namespace fs = std::filesystem;
using meshgate::hbone::TlsContext;
using meshgate::hbone::TlsFiles;

// The certificates, in a directory removed at exit.
struct TestPki {
    std::string dir = fs::temp_directory_path() / ("meshgate-tls-bench-" + std::to_string(getpid()));
    TestPki() {
        const std::string command = "bash " MESHGATE_SOURCE_DIR "/scripts/lib/make_test_pki.sh " + dir;
        if (std::system(command.c_str()) != 0) std::abort();
    }
    ~TestPki() { fs::remove_all(dir); }
};

const std::string& pki() {
    static const TestPki made;
    return made.dir;
}

TlsFiles files(const std::string& leaf, const std::string& ca = "ca") {
    return {pki() + "/" + ca + ".pem", pki() + "/" + leaf + ".pem", pki() + "/" + leaf + ".key"};
}

std::vector<unsigned char> der_of(const std::string& leaf) {
    BIO* in = BIO_new_file((pki() + "/" + leaf + ".pem").c_str(), "r");
    X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
    BIO_free(in);
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert, &der);
    std::vector<unsigned char> out(der, der + length);
    OPENSSL_free(der);
    X509_free(cert);
    return out;
}

// As libssl reads a peer's Certificate message: X509_new_ex in the SSL_CTX's library context,
// then d2i_X509, which decodes the public key. A TLS context is made first in the same library
// context, so its method store holds what libssl fetches, as in meshgated.
void parse(benchmark::State& state, OSSL_LIB_CTX* library, const std::string& leaf) {
    SSL_CTX* tls = SSL_CTX_new_ex(library, nullptr, TLS_server_method());
    const auto der = der_of(leaf);
    for (auto _ : state) {
        X509* cert = X509_new_ex(library, nullptr);
        const unsigned char* p = der.data();
        if (!d2i_X509(&cert, &p, static_cast<long>(der.size())) || !X509_get0_pubkey(cert)) {
            state.SkipWithError("the certificate does not parse");
            break;
        }
        X509_free(cert);
    }
    SSL_CTX_free(tls);
}

void BM_ParsePeerCertificate_DefaultLibrary(benchmark::State& state) { parse(state, nullptr, "ztunnel"); }
void BM_ParsePeerCertificate_HboneLibrary(benchmark::State& state) { parse(state, meshgate::hbone::tls_library(), "ztunnel"); }
void BM_ParseRsaCertificate_DefaultLibrary(benchmark::State& state) { parse(state, nullptr, "rsa-web"); }
void BM_ParseRsaCertificate_HboneLibrary(benchmark::State& state) { parse(state, meshgate::hbone::tls_library(), "rsa-web"); }

// One mutual TLS 1.3 handshake, client and server in this thread over a BIO pair: both sides'
// key shares, signatures, verifications and certificate parsing. Peer chains are remembered
// after the first (VerifiedChains), as on a node that sees the same peers again.
void BM_MutualHandshake(benchmark::State& state) {
    const auto server_ctx = TlsContext::load(TlsContext::Role::server, files("ztunnel"));
    const auto client_ctx = TlsContext::load(TlsContext::Role::client, files("web"));
    for (auto _ : state) {
        SSL* server = server_ctx->new_connection();
        SSL* client = client_ctx->new_connection();
        BIO *a = nullptr, *b = nullptr;
        BIO_new_bio_pair(&a, 0, &b, 0);
        SSL_set_bio(client, a, a);
        SSL_set_bio(server, b, b);
        bool client_done = false, server_done = false;
        for (int round = 0; round < 10 && !(client_done && server_done); ++round) {
            if (!client_done) client_done = SSL_do_handshake(client) == 1;
            if (!server_done) server_done = SSL_do_handshake(server) == 1;
        }
        if (!client_done || !server_done) {
            state.SkipWithError("the handshake did not finish");
            break;
        }
        SSL_free(client);
        SSL_free(server);
    }
}

}  // namespace

BENCHMARK(BM_ParsePeerCertificate_DefaultLibrary)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParsePeerCertificate_HboneLibrary)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseRsaCertificate_DefaultLibrary)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ParseRsaCertificate_HboneLibrary)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MutualHandshake)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
