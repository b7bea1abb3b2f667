#include "lb/locality_lb.h"

#include <algorithm>
#include <map>

namespace meshgate::lb {

uint32_t envoy_locality_priority(const Locality& proxy, const Locality& endpoint) {
    if (proxy.region != endpoint.region) return 3;
    if (proxy.zone != endpoint.zone) return 2;
    if (proxy.subzone != endpoint.subzone) return 1;
    return 0;
}

uint32_t locality_failover_priority(const Locality& proxy, const Locality& endpoint,
                                    const std::vector<FailoverRule>& failover) {
    uint32_t base = envoy_locality_priority(proxy, endpoint);
    if (base != 3) return base;
    for (const auto& rule : failover) {
        if (rule.from != proxy.region) continue;
        return endpoint.region == rule.to ? 3 : 4;
    }
    return base;
}

uint32_t failover_priority(const Labels& proxy, const Labels& endpoint,
                           const std::vector<std::string>& keys) {
    const auto n = static_cast<uint32_t>(keys.size());
    uint32_t priority = 0;
    uint32_t adjust = 0;
    for (uint32_t j = 0; j < n; ++j) {
        std::string_view key = keys[j];
        std::string want;
        if (auto eq = key.find('='); eq != std::string_view::npos) {
            want = std::string(key.substr(eq + 1));
            key = key.substr(0, eq);
        } else if (auto it = proxy.find(std::string(key)); it != proxy.end()) {
            want = it->second;
        }
        auto have = endpoint.find(std::string(key));
        std::string_view got = have == endpoint.end() ? std::string_view{} : have->second;
        if (want != got) {
            if (j == 0 && key == topology_label::network) {
                adjust = n;
                continue;
            }
            priority = n - j;
            break;
        }
    }
    return priority + adjust;
}

namespace {

std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        auto slash = s.find('/', start);
        parts.push_back(s.substr(start, slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return parts;
}

// More concrete segments first, so overlapping `to` patterns claim localities deterministically.
size_t specificity(std::string_view pattern) {
    size_t n = 0;
    for (auto part : split(pattern)) {
        if (!part.empty() && part != "*") ++n;
    }
    return n;
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

}  // namespace

bool locality_matches(std::string_view pattern, const Locality& locality) {
    auto parts = split(pattern);
    if (parts.size() > 3) return false;
    parts.resize(3);  // a missing zone or subzone is the empty pattern
    if (parts[0] != "*" && parts[0] != locality.region) return false;
    if (parts[1] != "*" && !parts[1].empty() && parts[1] != locality.zone) return false;
    if (parts[2] != "*" && !parts[2].empty() && parts[2] != locality.subzone) return false;
    return true;
}

std::string locality_key(const Locality& l) { return l.region + "/" + l.zone + "/" + l.subzone; }

std::optional<DistributeResult> apply_distribute(const Locality& proxy,
                                                 const std::vector<DistributeRule>& rules,
                                                 const std::vector<Locality>& endpoint_localities,
                                                 const std::vector<uint32_t>& endpoint_weights) {
    for (size_t r = 0; r < rules.size(); ++r) {
        if (!locality_matches(rules[r].from, proxy)) continue;

        std::map<std::string, LocalityWeight> by_key;
        std::map<std::string, Locality> sample;
        for (size_t i = 0; i < endpoint_localities.size(); ++i) {
            auto key = locality_key(endpoint_localities[i]);
            auto& lw = by_key[key];
            lw.locality = key;
            lw.original += std::max<uint32_t>(endpoint_weights[i], 1);
            sample.emplace(key, endpoint_localities[i]);
        }

        auto targets = rules[r].to;
        std::stable_sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
            auto sa = specificity(a.first), sb = specificity(b.first);
            return sa != sb ? sa > sb : a.first < b.first;
        });
        for (const auto& [pattern, weight] : targets) {
            std::vector<LocalityWeight*> claimed;
            uint64_t total = 0;
            for (auto& [key, lw] : by_key) {
                if (!lw.matched_by.empty() || !locality_matches(pattern, sample[key])) continue;
                lw.matched_by = pattern;
                claimed.push_back(&lw);
                total += lw.original;
            }
            for (auto* lw : claimed) lw->weight = ceil_div(lw->original * weight, total);
        }

        DistributeResult result{r, {}};
        for (auto& [key, lw] : by_key) result.localities.push_back(lw);
        return result;
    }
    return std::nullopt;
}

std::vector<double> effective_locality_weights(const std::vector<LocalityAvailability>& localities,
                                               uint32_t overprovisioning_factor) {
    std::vector<double> out;
    out.reserve(localities.size());
    for (const auto& l : localities) {
        double availability =
            l.total == 0 ? 0.0
                         : std::min(100.0, static_cast<double>(overprovisioning_factor) *
                                               static_cast<double>(l.available) /
                                               static_cast<double>(l.total));
        out.push_back(static_cast<double>(l.weight) * availability);
    }
    return out;
}

}  // namespace meshgate::lb
