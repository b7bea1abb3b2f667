#pragma once

#include "config/toml_reader.h"
#include "core/config.h"

// One reader per part of the schema (interfaces.md); load_config.cc calls them in an order
// that lets each check references to what was read before it.
namespace meshgate::config::sections {

void read_node(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_admin(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_announce(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_lb(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_dataplane(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_hbone(TableReader& root, Config& config, Diagnostics& diagnostics);

void read_services(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_clusters(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_network_gateways(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_endpoints(TableReader& root, Config& config, Diagnostics& diagnostics);

void read_destination_rules(TableReader& root, Config& config, Diagnostics& diagnostics);
void read_health_checks(TableReader& root, Config& config, Diagnostics& diagnostics);

// "[[name]][i]" as a key path.
std::string element_path(std::string_view name, size_t index);

}  // namespace meshgate::config::sections
