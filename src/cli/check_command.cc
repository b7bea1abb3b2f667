#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "config/load_config.h"
#include "lb/planner.h"

namespace meshgate::cli {

int run_check(const GlobalOptions& global, const std::string& path) {
    auto loaded = config::load_config_file(path);
    std::vector<std::string> errors, warnings;
    for (const auto& d : loaded.diagnostics.errors()) errors.push_back(d.to_string());
    for (const auto& d : loaded.diagnostics.warnings()) warnings.push_back(d.to_string());
    // Warnings about modes, scopes and rules come from the engine itself.
    if (loaded.config) {
        auto plan = lb::build_plan(*loaded.config, lb::declared_health(*loaded.config));
        for (const auto& w : plan.warnings) warnings.push_back(path + ": warning: " + w);
        for (const auto& s : plan.services) {
            for (const auto& w : s.warnings) warnings.push_back(path + ": warning: " + s.service + ": " + w);
        }
    }
    if (global.json) {
        nlohmann::json doc = {{"ok", errors.empty()}, {"errors", errors}, {"warnings", warnings}};
        std::cout << doc.dump(2) << "\n";
    } else {
        for (const auto& e : errors) std::cerr << e << "\n";
        for (const auto& w : warnings) std::cerr << w << "\n";
        if (loaded.config) {
            std::cout << path << ": ok: " << loaded.config->services.size() << " services, "
                      << loaded.config->endpoints.size() << " endpoints, " << warnings.size() << " warnings\n";
        }
    }
    return errors.empty() ? exit_ok : exit_usage;
}

}  // namespace meshgate::cli
