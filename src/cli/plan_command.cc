#include <iostream>

#include "cli/commands.h"
#include "cli/plan_text.h"
#include "config/load_config.h"
#include "control/flow_simulation.h"
#include "control/plan_json.h"

namespace meshgate::cli {

int run_plan_offline(const GlobalOptions& global, const std::string& path, const std::optional<std::string>& service,
                     std::optional<uint64_t> flow_count) {
    auto loaded = config::load_config_file(path);
    for (const auto& d : loaded.diagnostics.items) std::cerr << d.to_string() << "\n";
    if (!loaded.config) return exit_usage;
    const auto& config = *loaded.config;

    lb::Plan plan;
    const auto health = lb::declared_health(config);
    if (service) {
        for (uint32_t i = 0; i < config.services.size(); ++i) {
            if (config.services[i].key() == *service) plan.services.push_back(lb::plan_service(config, health, i));
        }
        if (plan.services.empty()) {
            std::cerr << "meshgatectl plan: no service " << *service << " in " << path << "\n";
            return exit_failed;
        }
    } else {
        plan = lb::build_plan(config, health);
    }

    std::map<uint32_t, control::FlowCounts> flows;
    if (flow_count) {
        for (const auto& sp : plan.services) flows[sp.service_index] = control::simulate_flows(config, sp, *flow_count);
    }
    const auto doc = control::plan_to_json(config, plan, flow_count ? &flows : nullptr);
    if (global.json) std::cout << doc.dump(2) << "\n";
    else print_plan(std::cout, doc);
    return exit_ok;
}

}  // namespace meshgate::cli
