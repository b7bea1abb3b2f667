#include "hbone/spiffe.h"

namespace meshgate::hbone {

namespace {

constexpr std::string_view scheme = "spiffe://";

bool trust_domain_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'; }
bool path_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

// The value of segment `key` in an Istio path /ns/<ns>/sa/<sa>.
std::optional<std::string> istio_segment(const std::string& path, std::string_view key) {
    // Exactly four segments: "", "ns", ns, "sa", sa.
    std::string_view p = path;
    std::string_view parts[5];
    size_t n = 0;
    while (!p.empty() && n < 5) {
        p.remove_prefix(1);
        const size_t end = p.find('/');
        parts[n++] = p.substr(0, end);
        p = end == std::string_view::npos ? std::string_view{} : p.substr(end);
    }
    if (n != 4 || !p.empty() || parts[0] != "ns" || parts[2] != "sa") return std::nullopt;
    return std::string(key == "ns" ? parts[1] : parts[3]);
}

}  // namespace

std::optional<SpiffeId> SpiffeId::parse(std::string_view text) {
    if (text.size() > 2048 || text.substr(0, scheme.size()) != scheme) return std::nullopt;
    text.remove_prefix(scheme.size());
    const size_t slash = text.find('/');
    const std::string_view domain = text.substr(0, slash);
    if (domain.empty() || domain.size() > 255) return std::nullopt;
    for (char c : domain) {
        if (!trust_domain_char(c)) return std::nullopt;  // also refuses ':' (a port) and '@' (user info)
    }
    SpiffeId id;
    id.trust_domain = std::string(domain);
    if (slash == std::string_view::npos) return id;
    const std::string_view path = text.substr(slash);
    bool segment_empty = true;
    for (size_t i = 1; i < path.size(); ++i) {
        if (path[i] == '/') {
            if (segment_empty) return std::nullopt;
            segment_empty = true;
        } else if (path_char(path[i])) {
            segment_empty = false;
        } else {
            return std::nullopt;  // '?', '#', '%', anything else
        }
    }
    if (segment_empty) return std::nullopt;  // "/" alone, or a trailing '/'
    if (path.size() >= 3) {
        // "." and ".." segments are refused by the standard.
        for (std::string_view dots : {"/./", "/../"}) {
            if (std::string(path).append("/").find(dots) != std::string::npos) return std::nullopt;
        }
    }
    id.path = std::string(path);
    return id;
}

std::optional<std::string> SpiffeId::ns() const { return istio_segment(path, "ns"); }
std::optional<std::string> SpiffeId::service_account() const { return istio_segment(path, "sa"); }

bool identity_matches(std::string_view pattern, std::string_view id) {
    if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == "/*") {
        const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the '/'
        return id.size() > prefix.size() && id.substr(0, prefix.size()) == prefix && SpiffeId::parse(id).has_value();
    }
    return pattern == id;
}

}  // namespace meshgate::hbone
