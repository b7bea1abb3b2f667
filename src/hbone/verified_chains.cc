#include "hbone/verified_chains.h"

#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

namespace meshgate::hbone {

namespace {

std::optional<VerifiedChains::Digest> digest_of(STACK_OF(X509)* presented) {
    std::vector<uint8_t> der;
    for (int i = 0; i < sk_X509_num(presented); ++i) {
        X509* cert = sk_X509_value(presented, i);
        const int length = i2d_X509(cert, nullptr);
        if (length <= 0) return std::nullopt;
        const size_t at = der.size();
        der.resize(at + static_cast<size_t>(length));
        uint8_t* out = der.data() + at;
        if (i2d_X509(cert, &out) != length) return std::nullopt;
    }
    if (der.empty()) return std::nullopt;
    VerifiedChains::Digest d;
    SHA256(der.data(), der.size(), d.data());  // the one-shot: no provider lookup per call
    return d;
}

std::optional<time_t> seconds(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return timegm(&tm);
}

std::atomic<uint64_t> verified_total{0}, remembered_total{0};

int own_index() {
    static const int index = SSL_CTX_get_ex_new_index(
        0, nullptr, nullptr, nullptr, [](void*, void* chains, CRYPTO_EX_DATA*, int, long, void*) {
            delete static_cast<VerifiedChains*>(chains);
        });
    return index;
}

}  // namespace

size_t VerifiedChains::DigestHash::operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);  // already a cryptographic hash
    return h;
}

bool VerifiedChains::known(const Digest& chain, time_t now) const {
    std::lock_guard lock(mutex_);
    auto it = windows_.find(chain);
    return it != windows_.end() && now >= it->second.not_before && now < it->second.not_after;
}

void VerifiedChains::remember(const Digest& chain, time_t not_before, time_t not_after) {
    std::lock_guard lock(mutex_);
    auto [it, added] = windows_.insert_or_assign(chain, Window{not_before, not_after});
    if (!added) return;
    order_.push_back(chain);
    while (order_.size() > capacity_) {
        windows_.erase(order_.front());
        order_.pop_front();
    }
}

size_t VerifiedChains::size() const {
    std::lock_guard lock(mutex_);
    return windows_.size();
}

int VerifiedChains::verify(X509_STORE_CTX* store, void* arg) {
    auto& self = *static_cast<VerifiedChains*>(arg);
    const auto digest = digest_of(X509_STORE_CTX_get0_untrusted(store));  // libssl: the peer's whole chain, leaf first
    const time_t now = time(nullptr);
    if (digest && self.known(*digest, now)) {
        remembered_total.fetch_add(1, std::memory_order_relaxed);
        return 1;
    }
    verified_total.fetch_add(1, std::memory_order_relaxed);
    const int ok = X509_verify_cert(store);
    if (ok != 1 || !digest) return ok;
    std::optional<time_t> not_before = 0, not_after = std::numeric_limits<time_t>::max();
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);  // leaf to trust anchor
    for (int i = 0; not_before && not_after && i < sk_X509_num(chain); ++i) {
        const auto from = seconds(X509_get0_notBefore(sk_X509_value(chain, i)));
        const auto to = seconds(X509_get0_notAfter(sk_X509_value(chain, i)));
        not_before = from ? std::optional(std::max(*not_before, *from)) : std::nullopt;
        not_after = to ? std::optional(std::min(*not_after, *to)) : std::nullopt;
    }
    if (not_before && not_after) self.remember(*digest, *not_before, *not_after);
    return ok;
}

void VerifiedChains::install(SSL_CTX* ctx) {
    auto* chains = new VerifiedChains();
    if (own_index() < 0 || SSL_CTX_set_ex_data(ctx, own_index(), chains) != 1) {
        delete chains;  // then OpenSSL verifies every chain itself, as without memory
        return;
    }
    SSL_CTX_set_cert_verify_callback(ctx, verify, chains);  // `chains` is freed with the context
}

VerifiedChains::Totals VerifiedChains::totals() {
    return {verified_total.load(std::memory_order_relaxed), remembered_total.load(std::memory_order_relaxed)};
}

}  // namespace meshgate::hbone
