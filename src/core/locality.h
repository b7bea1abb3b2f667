#pragma once

#include <map>
#include <string>

namespace meshgate {

using Labels = std::map<std::string, std::string>;

// Where a workload runs. Empty strings compare equal to each other and to nothing else.
struct Locality {
    std::string network;
    std::string region;
    std::string zone;
    std::string subzone;
    std::string node;
    std::string cluster;

    bool operator==(const Locality&) const = default;
};

// The well-known topology labels Istio adds to every endpoint and proxy; DestinationRule
// failoverPriority matches against them.
namespace topology_label {
inline constexpr const char* network = "topology.istio.io/network";
inline constexpr const char* cluster = "topology.istio.io/cluster";
inline constexpr const char* region = "topology.kubernetes.io/region";
inline constexpr const char* zone = "topology.kubernetes.io/zone";
inline constexpr const char* subzone = "topology.istio.io/subzone";
inline constexpr const char* hostname = "kubernetes.io/hostname";
}  // namespace topology_label

// Labels plus the topology labels derived from the locality, as istiod's AugmentLabels does:
// region/zone/subzone only when non-empty, cluster and hostname always, network unless set.
Labels with_topology_labels(const Labels& labels, const Locality& locality);

}  // namespace meshgate
