#include "dataplane/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

#include <stdexcept>

namespace meshgate::dataplane {

std::string device_name(const std::string& device) { return device.substr(0, device.find(',')); }

bool is_vdev(const std::string& device) { return device.rfind("net_", 0) == 0 || device.rfind("eth_", 0) == 0; }

std::optional<std::string> device_argument(const std::string& device, const std::string& key) {
    size_t at = device.find(',');
    while (at != std::string::npos) {
        const size_t next = device.find(',', at + 1);
        const std::string item = device.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
        if (item.rfind(key + "=", 0) == 0) return item.substr(key.size() + 1);
        at = next;
    }
    return std::nullopt;
}

std::string with_device_defaults(const std::string& device) {
    // 4,096 frames of 2 KiB: 8 MiB a ring, some 5 ms of a 10 Gbit/s link.
    if (device.rfind("net_af_packet", 0) == 0 && !device_argument(device, "framecnt")) return device + ",framecnt=4096";
    return device;
}

std::vector<std::string> eal_arguments(const DataplaneConfig& config, const std::string& program, const std::string& file_prefix) {
    // "0@0,1@1,2@1" maps lcores to CPUs (more lcores than cores); a plain list is one-to-one.
    const bool map = config.lcores.find('@') != std::string::npos;
    std::vector<std::string> args = {program, map ? "--lcores" : "-l", config.lcores, "--file-prefix", file_prefix, "-m",
                                     std::to_string(config.memory_mb)};
    if (!config.hugepages) args.push_back("--no-huge");
    bool pci = false;
    for (const auto& port : config.ports) {
        if (is_vdev(port.device)) {
            args.push_back("--vdev=" + port.device);
        } else {
            args.push_back("-a");
            args.push_back(port.device);
            pci = true;
        }
    }
    if (!pci) args.push_back("--no-pci");
    args.insert(args.end(), config.eal_args.begin(), config.eal_args.end());
    return args;
}

void init_eal(const std::vector<std::string>& arguments) {
    std::vector<std::string> copy = arguments;  // EAL may permute argv
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
        throw std::runtime_error(std::string("EAL initialization failed: ") + rte_strerror(rte_errno));
    }
}

}  // namespace meshgate::dataplane
