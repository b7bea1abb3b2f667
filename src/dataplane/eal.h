#pragma once

#include <optional>
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
// The value of `key` in a device string's arguments ("net_af_xdp0,iface=x" → iface: "x").
std::optional<std::string> device_argument(const std::string& device, const std::string& key);

// `device` with meshgated's defaults for what it does not set: a net_af_packet port gets a
// ring of 4,096 frames (`framecnt`; the PMD's 512 overflow under a burst of many flows, and TCP
// then backs off on every loss).
std::string with_device_defaults(const std::string& device);

// Initializes EAL; throws with DPDK's reason on failure.
void init_eal(const std::vector<std::string>& arguments);

}  // namespace meshgate::dataplane
