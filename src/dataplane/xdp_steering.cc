#include "dataplane/xdp_steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

#include "dataplane/eal.h"

namespace meshgate::dataplane {

namespace {

constexpr const char* our_program = "meshgate_steer";
constexpr const char* pmd_default_program = "xsk_def_prog";

bool is_af_xdp(const std::string& device) { return device.rfind("net_af_xdp", 0) == 0; }

unsigned index_of(const std::string& interface) {
    const unsigned index = if_nametoindex(interface.c_str());
    if (index == 0) throw std::runtime_error("XDP steering on " + interface + ": no such interface");
    return index;
}

// The id of the XDP program attached to `index`, or 0.
uint32_t attached_program(unsigned index) {
    uint32_t id = 0;
    if (bpf_xdp_query_id(static_cast<int>(index), 0, &id) != 0) return 0;
    return id;
}

bpf_prog_info program_info(int fd, std::vector<uint32_t>* maps = nullptr) {
    bpf_prog_info info{};
    uint32_t size = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &size) != 0) return {};
    if (maps && info.nr_map_ids > 0) {
        maps->resize(info.nr_map_ids);
        const uint32_t count = info.nr_map_ids;
        info = {};
        info.nr_map_ids = count;
        info.map_ids = reinterpret_cast<uint64_t>(maps->data());
        size = sizeof info;
        if (bpf_obj_get_info_by_fd(fd, &info, &size) != 0) maps->clear();
    }
    return info;
}

}  // namespace

std::string with_steering_program(const std::string& device, const std::string& program) {
    if (!is_af_xdp(device) || device_argument(device, "xdp_prog") || program.empty() || !std::filesystem::exists(program)) {
        return device;
    }
    return device + ",xdp_prog=" + program;
}

std::optional<std::string> steered_interface(const std::string& device, const std::string& program) {
    if (!is_af_xdp(device) || program.empty() || device_argument(device, "xdp_prog") != program) return std::nullopt;
    return device_argument(device, "iface");
}

std::string remove_stale_program(const std::string& interface) {
    const unsigned index = index_of(interface);
    const uint32_t id = attached_program(index);
    if (id == 0) return {};
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) return {};
    const std::string name = program_info(fd).name;
    close(fd);
    if (name != our_program && name != pmd_default_program) {
        throw std::runtime_error("XDP steering on " + interface + ": another XDP program (\"" + name + "\", id " +
                                 std::to_string(id) + ") is attached; meshgated will not replace it");
    }
    if (int rc = bpf_xdp_detach(static_cast<int>(index), 0, nullptr); rc != 0) {
        throw std::runtime_error("XDP steering on " + interface + ": removing the stale program: " + std::strerror(-rc));
    }
    return "removed the XDP program \"" + name + "\" (id " + std::to_string(id) + ") a previous run left on " + interface;
}

SteeringMaps::SteeringMaps(const std::string& interface) : interface_(interface) {
    const uint32_t id = attached_program(index_of(interface));
    const int program = id ? bpf_prog_get_fd_by_id(id) : -1;
    if (program < 0) throw std::runtime_error("XDP steering on " + interface + ": no program attached");
    std::vector<uint32_t> maps;
    const std::string name = program_info(program, &maps).name;
    close(program);
    if (name != our_program) throw std::runtime_error("XDP steering on " + interface + ": the attached program is \"" + name + "\"");
    for (uint32_t map_id : maps) {
        const int fd = bpf_map_get_fd_by_id(map_id);
        if (fd < 0) continue;
        bpf_map_info info{};
        uint32_t size = sizeof info;
        bpf_obj_get_info_by_fd(fd, &info, &size);
        int* slot = std::string(info.name) == "owned_v4" ? &owned_v4_ : std::string(info.name) == "owned_v6" ? &owned_v6_ : nullptr;
        if (slot) *slot = fd;
        else close(fd);
    }
    if (owned_v4_ < 0 || owned_v6_ < 0) throw std::runtime_error("XDP steering on " + interface + ": the program's maps are missing");
}

SteeringMaps::SteeringMaps(SteeringMaps&& other) noexcept
    : interface_(std::move(other.interface_)), owned_v4_(other.owned_v4_), owned_v6_(other.owned_v6_) {
    other.owned_v4_ = other.owned_v6_ = -1;
}

SteeringMaps::~SteeringMaps() {
    if (owned_v4_ >= 0) close(owned_v4_);
    if (owned_v6_ >= 0) close(owned_v6_);
}

size_t SteeringMaps::update(const std::vector<IpAddress>& owned, const std::vector<IpAddress>& peers) {
    // The program's roles (meshgate_steer.bpf.c, enum role).
    constexpr uint8_t served = 1, tier_peer = 2;
    size_t changed = 0;
    for (const bool v4 : {true, false}) {
        const int map = v4 ? owned_v4_ : owned_v6_;
        const size_t size = v4 ? 4 : 16;
        std::map<std::vector<uint8_t>, uint8_t> want, have;
        auto add = [&](const std::vector<IpAddress>& addresses, uint8_t role) {
            for (const auto& a : addresses) {
                if (a.is_v4() == v4) want[{a.bytes().begin(), a.bytes().begin() + static_cast<long>(size)}] |= role;
            }
        };
        add(owned, served);
        add(peers, tier_peer);
        std::vector<uint8_t> key(size), next(size);
        const void* previous = nullptr;
        while (bpf_map_get_next_key(map, previous, next.data()) == 0) {
            uint8_t role = 0;
            bpf_map_lookup_elem(map, next.data(), &role);
            have[next] = role;
            key = next;
            previous = key.data();
        }
        for (const auto& [k, role] : want) {
            const auto it = have.find(k);
            if ((it == have.end() || it->second != role) && bpf_map_update_elem(map, k.data(), &role, BPF_ANY) == 0) ++changed;
        }
        for (const auto& [k, role] : have) {
            if (!want.count(k) && bpf_map_delete_elem(map, k.data()) == 0) ++changed;
        }
    }
    return changed;
}

}  // namespace meshgate::dataplane
