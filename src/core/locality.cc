#include "core/locality.h"

namespace meshgate {

Labels with_topology_labels(const Labels& labels, const Locality& locality) {
    Labels out = labels;
    if (!locality.region.empty()) out[topology_label::region] = locality.region;
    if (!locality.zone.empty()) out[topology_label::zone] = locality.zone;
    if (!locality.subzone.empty()) out[topology_label::subzone] = locality.subzone;
    out[topology_label::cluster] = locality.cluster;
    out[topology_label::hostname] = locality.node;
    out.try_emplace(topology_label::network, locality.network);
    return out;
}

}  // namespace meshgate
