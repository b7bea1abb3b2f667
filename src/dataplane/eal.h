#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace meshgate::dataplane {

// EAL arguments for a [dataplane] section: lcores, memory (--no-huge unless hugepages),
// a per-process file prefix, each port's device (a vdev, or an allowed PCI address), then
// eal_args verbatim.
std::vector<std::string> eal_arguments(const DataplaneConfig& config, const std::string& program, const std::string& file_prefix);

// The ethdev name of a device string: "net_tap0,iface=x" → "net_tap0"; a PCI address stays.
std::string device_name(const std::string& device);
bool is_vdev(const std::string& device);

// Initializes EAL; throws with DPDK's reason on failure.
void init_eal(const std::vector<std::string>& arguments);

}  // namespace meshgate::dataplane
