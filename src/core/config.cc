#include "core/config.h"

namespace meshgate {

const Service* Config::find_service(std::string_view key) const {
    for (const auto& s : services) {
        if (s.key() == key) return &s;
    }
    return nullptr;
}

}  // namespace meshgate
