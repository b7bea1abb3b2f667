#include <charconv>
#include <iostream>

#include "cli/arguments.h"
#include "cli/commands.h"
#include "cli/plan_text.h"
#include "config/load_config.h"
#include "control/flow_simulation.h"
#include "control/plan_json.h"

namespace meshgate::cli {

int run_plan(const std::vector<std::string>& words) {
    Arguments args;
    if (auto error = parse_arguments(words, {"config", "service", "flows", "socket"}, {"json"}, args)) {
        std::cerr << "meshgatectl plan: " << *error << "\n";
        return exit_usage;
    }
    auto path = args.option("config");
    if (!path) {
        std::cerr << "meshgatectl plan: --config FILE is required (the live plan of a running daemon "
                     "comes with the admin socket)\n";
        return exit_usage;
    }
    uint64_t flow_count = 0;
    if (auto text = args.option("flows")) {
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), flow_count);
        if (ec != std::errc{} || end != text->data() + text->size() || flow_count > 100'000'000) {
            std::cerr << "meshgatectl plan: --flows expects a count from 0 to 100000000, got '" << *text << "'\n";
            return exit_usage;
        }
    }

    auto loaded = config::load_config_file(*path);
    for (const auto& d : loaded.diagnostics.items) std::cerr << d.to_string() << "\n";
    if (!loaded.config) return exit_usage;
    const auto& config = *loaded.config;

    lb::Plan plan;
    const auto health = lb::declared_health(config);
    if (auto only = args.option("service")) {
        for (uint32_t i = 0; i < config.services.size(); ++i) {
            if (config.services[i].key() == *only) plan.services.push_back(lb::plan_service(config, health, i));
        }
        if (plan.services.empty()) {
            std::cerr << "meshgatectl plan: no service " << *only << " in " << *path << "\n";
            return exit_failed;
        }
    } else {
        plan = lb::build_plan(config, health);
    }

    std::map<uint32_t, control::FlowCounts> flows;
    if (args.option("flows")) {
        for (const auto& sp : plan.services) flows[sp.service_index] = control::simulate_flows(config, sp, flow_count);
    }
    const auto* flows_ptr = args.option("flows") ? &flows : nullptr;
    if (args.flag("json")) {
        std::cout << control::plan_to_json(config, plan, flows_ptr).dump(2) << "\n";
    } else {
        print_plan(std::cout, config, plan, flows_ptr);
    }
    return exit_ok;
}

}  // namespace meshgate::cli
