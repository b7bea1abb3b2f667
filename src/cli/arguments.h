#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace meshgate::cli {

// "--name value" options, "--flag" switches and positional words of one command line.
struct Arguments {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;

    bool flag(const std::string& name) const { return flags.count(name) > 0; }
    std::optional<std::string> option(const std::string& name) const;
};

// `takes_value` names the options followed by a value; every other "--x" must be in `switches`.
// Returns an error message for anything else.
std::optional<std::string> parse_arguments(const std::vector<std::string>& words,
                                           const std::set<std::string>& takes_value,
                                           const std::set<std::string>& switches, Arguments& out);

}  // namespace meshgate::cli
