// HBONE's OpenSSL library context: the default provider's algorithms a mesh handshake uses,
// and not the rest.
#include "hbone/tls_library.h"

#include <gtest/gtest.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

namespace meshgate::hbone {
namespace {

bool has_key_manager(const char* name) {
    EVP_KEYMGMT* k = EVP_KEYMGMT_fetch(tls_library(), name, nullptr);
    EVP_KEYMGMT_free(k);
    return k != nullptr;
}

bool has_cipher(const char* name) {
    EVP_CIPHER* c = EVP_CIPHER_fetch(tls_library(), name, nullptr);
    EVP_CIPHER_free(c);
    return c != nullptr;
}

TEST(TlsLibrary, IsItsOwnContextMadeOnce) {
    ASSERT_NE(tls_library(), nullptr);
    EXPECT_EQ(tls_library(), tls_library());
}

TEST(TlsLibrary, KeepsTheKeyTypesOfCertificatesAndKeyShares) {
    for (const char* name : {"EC", "RSA", "RSA-PSS", "ED25519", "ED448", "X25519", "X448", "HKDF"}) {
        EXPECT_TRUE(has_key_manager(name)) << name;
    }
    for (const char* name : {"DH", "DHX", "DSA", "SM2"}) EXPECT_FALSE(has_key_manager(name)) << name;
}

TEST(TlsLibrary, KeepsTheTls13CiphersOnly) {
    for (const char* name : {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"}) EXPECT_TRUE(has_cipher(name)) << name;
    for (const char* name : {"AES-128-CBC", "DES-EDE3-CBC", "AES-256-CTR"}) EXPECT_FALSE(has_cipher(name)) << name;
    // Digests are not narrowed: chain signatures may use any SHA.
    EVP_MD* sha1 = EVP_MD_fetch(tls_library(), "SHA1", nullptr);
    EXPECT_NE(sha1, nullptr);
    EVP_MD_free(sha1);
}

// Its decoders are those of a certificate's public key, and a public key decodes.
TEST(TlsLibrary, DecodesCertificatePublicKeysOnly) {
    std::vector<std::string> properties;
    OSSL_DECODER_do_all_provided(tls_library(), [](OSSL_DECODER* d, void* out) {
        static_cast<std::vector<std::string>*>(out)->emplace_back(OSSL_DECODER_get0_properties(d));
    }, &properties);
    EXPECT_GE(properties.size(), 5u);
    for (const auto& p : properties) EXPECT_NE(p.find("structure=SubjectPublicKeyInfo"), std::string::npos) << p;

    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    ASSERT_NE(key, nullptr);
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    const unsigned char* p = der;
    EVP_PKEY* decoded = d2i_PUBKEY_ex(nullptr, &p, length, tls_library(), nullptr);
    ASSERT_NE(decoded, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(decoded, key), 1);
    EVP_PKEY_free(decoded);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
}

}  // namespace
}  // namespace meshgate::hbone
