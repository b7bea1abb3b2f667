#pragma once

typedef struct ossl_lib_ctx_st OSSL_LIB_CTX;

namespace meshgate::hbone {

// The OpenSSL library context HBONE's TLS contexts are made in: OpenSSL's default provider,
// narrowed to what mesh certificates and TLS 1.3 use. Its key managers leave out DH, DSA and
// SM2; its decoders are those of a certificate's public key (EC, RSA, RSA-PSS, Ed25519,
// Ed448); its ciphers are the TLS 1.3 AEADs. Every algorithm is the default provider's own.
//
// Why: OpenSSL 3.0 parses each certificate a peer sends (d2i_X509, inside libssl) through its
// decoder framework, which walks every key manager and decoder of the library context, and
// every method the context has fetched, for each certificate. In the default context that
// took 102 µs for a P-256 leaf, about a fifth of a server handshake's CPU; here it takes 42
// (perf/tls_bench).
//
// Made once, on first use, and kept for the life of the process. nullptr (OpenSSL's default
// context) when the default provider cannot be loaded, e.g. on a node whose OpenSSL
// configuration allows only a FIPS provider.
OSSL_LIB_CTX* tls_library();

}  // namespace meshgate::hbone
