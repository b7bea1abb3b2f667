// meshgatectl: the admin CLI. `plan` and `check` work offline on a TOML file.
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"

namespace {

constexpr const char* usage =
    "usage: meshgatectl COMMAND [OPTIONS]\n"
    "\n"
    "commands (offline, no daemon needed):\n"
    "  plan  --config FILE [--service NS/NAME] [--flows N] [--json]\n"
    "        the load-balancing decision for every service: levels, loads, shares, why\n"
    "  check --config FILE [--json]\n"
    "        validate a configuration; prints warnings; exit 2 on an error\n";

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::cout << usage;
        return args.empty() ? meshgate::cli::exit_usage : meshgate::cli::exit_ok;
    }
    const std::string command = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (command == "plan") return meshgate::cli::run_plan(rest);
    if (command == "check") return meshgate::cli::run_check(rest);
    std::cerr << "meshgatectl: unknown command '" << command << "'\n" << usage;
    return meshgate::cli::exit_usage;
}
