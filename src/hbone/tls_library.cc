#include "hbone/tls_library.h"

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include <string_view>
#include <vector>

namespace meshgate::hbone {

namespace {

// The provider added to our library context: it offers the default provider's algorithms, as
// the default provider offers them, minus key managers, decoders and ciphers HBONE never uses.
// Its provider context is the default provider's own, which each algorithm is called with.
OSSL_PROVIDER* default_provider = nullptr;
std::vector<OSSL_ALGORITHM> key_managers;
std::vector<OSSL_ALGORITHM> key_decoders;
std::vector<OSSL_ALGORITHM> ciphers;

// Key types neither a mesh certificate nor a TLS 1.3 key share has: finite-field DH and DSA,
// and SM2 (whose OID is EC's, so each EC key would have its decoders searched too).
constexpr std::string_view dropped_key_types[] = {"DH", "DHX", "DSA", "SM2"};
// The key types a peer's certificate may carry; "DER" is the decoder that turns a
// SubjectPublicKeyInfo into its key type's own structure, which the others may chain to.
constexpr std::string_view certificate_key_types[] = {"EC", "RSA", "RSA-PSS", "ED25519", "ED448", "DER"};
// The record ciphers of TLS 1.3 (TlsContext offers the AES-GCM ones). The default provider has
// 124 ciphers, and each search for a decoder walks every method the context ever fetched.
constexpr std::string_view tls13_ciphers[] = {"AES-128-GCM", "AES-256-GCM", "ChaCha20-Poly1305"};

// Whether one of the algorithm's names (a colon-separated list) is in `names`.
template <size_t N>
bool named(const OSSL_ALGORITHM& algorithm, const std::string_view (&names)[N]) {
    std::string_view all = algorithm.algorithm_names;
    while (!all.empty()) {
        const size_t colon = all.find(':');
        const std::string_view name = all.substr(0, colon);
        for (const auto& n : names) {
            if (name.size() == n.size() && OPENSSL_strncasecmp(name.data(), n.data(), n.size()) == 0) return true;
        }
        all = colon == std::string_view::npos ? std::string_view{} : all.substr(colon + 1);
    }
    return false;
}

// A list ends with an entry whose names are null, as the provider interface wants it.
std::vector<OSSL_ALGORITHM> keep(const OSSL_ALGORITHM* all, bool (*wanted)(const OSSL_ALGORITHM&)) {
    std::vector<OSSL_ALGORITHM> out;
    for (; all && all->algorithm_names; ++all) {
        if (wanted(*all)) out.push_back(*all);
    }
    out.push_back(OSSL_ALGORITHM{nullptr, nullptr, nullptr, nullptr});
    return out;
}

bool wanted_key_manager(const OSSL_ALGORITHM& a) { return !named(a, dropped_key_types); }

// Only public keys in certificates are decoded in this context: our own private key is read
// in OpenSSL's default context (TlsContext::load).
bool wanted_key_decoder(const OSSL_ALGORITHM& a) {
    const std::string_view properties = a.property_definition ? a.property_definition : "";
    return named(a, certificate_key_types) && properties.find("structure=SubjectPublicKeyInfo") != std::string_view::npos;
}

bool wanted_cipher(const OSSL_ALGORITHM& a) { return named(a, tls13_ciphers); }

const OSSL_ALGORITHM* query_operation(void*, int operation, int* no_cache) {
    switch (operation) {
        case OSSL_OP_KEYMGMT: *no_cache = 0; return key_managers.data();
        case OSSL_OP_DECODER: *no_cache = 0; return key_decoders.data();
        case OSSL_OP_CIPHER: *no_cache = 0; return ciphers.data();
        default: return OSSL_PROVIDER_query_operation(default_provider, operation, no_cache);
    }
}

// The TLS groups and parameters are the default provider's (libssl asks for "TLS-GROUP").
int get_capabilities(void*, const char* capability, OSSL_CALLBACK* callback, void* argument) {
    return OSSL_PROVIDER_get_capabilities(default_provider, capability, callback, argument);
}
const OSSL_PARAM* gettable_params(void*) { return OSSL_PROVIDER_gettable_params(default_provider); }
int get_params(void*, OSSL_PARAM params[]) { return OSSL_PROVIDER_get_params(default_provider, params); }
void teardown(void*) {}

template <typename F>
void (*entry(F* f))() {
    return reinterpret_cast<void (*)()>(f);
}

int provider_init(const OSSL_CORE_HANDLE*, const OSSL_DISPATCH*, const OSSL_DISPATCH** out, void** provider_context) {
    static const OSSL_DISPATCH dispatch[] = {
        {OSSL_FUNC_PROVIDER_TEARDOWN, entry(teardown)},
        {OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, entry(gettable_params)},
        {OSSL_FUNC_PROVIDER_GET_PARAMS, entry(get_params)},
        {OSSL_FUNC_PROVIDER_QUERY_OPERATION, entry(query_operation)},
        {OSSL_FUNC_PROVIDER_GET_CAPABILITIES, entry(get_capabilities)},
        {0, nullptr},
    };
    int no_cache = 0;
    key_managers = keep(OSSL_PROVIDER_query_operation(default_provider, OSSL_OP_KEYMGMT, &no_cache), wanted_key_manager);
    key_decoders = keep(OSSL_PROVIDER_query_operation(default_provider, OSSL_OP_DECODER, &no_cache), wanted_key_decoder);
    ciphers = keep(OSSL_PROVIDER_query_operation(default_provider, OSSL_OP_CIPHER, &no_cache), wanted_cipher);
    *out = dispatch;
    *provider_context = OSSL_PROVIDER_get0_provider_ctx(default_provider);
    return 1;
}

OSSL_LIB_CTX* make_tls_library() {
    ERR_set_mark();
    default_provider = OSSL_PROVIDER_load(nullptr, "default");
    OSSL_LIB_CTX* library = default_provider ? OSSL_LIB_CTX_new() : nullptr;
    if (library && (OSSL_PROVIDER_add_builtin(library, "meshgate-hbone-tls", provider_init) != 1 ||
                    !OSSL_PROVIDER_load(library, "meshgate-hbone-tls"))) {
        OSSL_LIB_CTX_free(library);
        library = nullptr;
    }
    ERR_pop_to_mark();
    return library;
}

}  // namespace

OSSL_LIB_CTX* tls_library() {
    static OSSL_LIB_CTX* const library = make_tls_library();
    return library;
}

}  // namespace meshgate::hbone
