#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace meshgate::hbone {

// A SPIFFE id (spiffe://<trust domain>/<path>), as Istio issues them:
// spiffe://<trust domain>/ns/<namespace>/sa/<service account>. Parsed by the SPIFFE ID
// standard's rules: a lower-case trust domain of [a-z0-9.-_], a path of non-empty segments of
// [A-Za-z0-9.-_], no query, fragment, port or user info.
struct SpiffeId {
    std::string trust_domain;
    std::string path;  // "/ns/shop/sa/web"; may be empty

    static std::optional<SpiffeId> parse(std::string_view text);
    std::string to_string() const { return "spiffe://" + trust_domain + path; }
    // Istio's namespace and service account, when the path has that shape.
    std::optional<std::string> ns() const;
    std::optional<std::string> service_account() const;
};

// Whether `id` is allowed by `pattern` ([[hbone.authorization]] allow, expected identities):
// equal, or `pattern` ends in "/*" and `id` has that prefix and one more path segment or more
// (spiffe://td/ns/shop/sa/* allows every service account of namespace shop).
bool identity_matches(std::string_view pattern, std::string_view id);

}  // namespace meshgate::hbone
