// libFuzzer: any bytes as a TOML configuration file. Loading must either succeed or return
// diagnostics naming file:line:column, never crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/load_config.h"
#include "lb/planner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace meshgate;
    auto loaded = config::load_config_string(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
    if (!loaded.config && loaded.diagnostics.errors().empty()) std::abort();  // a refusal always says why
    for (const auto& d : loaded.diagnostics.items) {
        if (d.to_string().rfind("fuzz.toml", 0) != 0) std::abort();
    }
    if (loaded.config && loaded.config->services.size() <= 16 && loaded.config->endpoints.size() <= 64) {
        // What the file says must also plan; with small Maglev tables, to keep runs fast.
        Config small = *loaded.config;
        small.lb.maglev_table_size = 251;
        lb::build_plan(small, lb::declared_health(small));
    }
    return 0;
}
