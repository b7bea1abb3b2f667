#include "cli/arguments.h"

namespace meshgate::cli {

std::optional<std::string> Arguments::option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

std::optional<std::string> parse_arguments(const std::vector<std::string>& words,
                                           const std::set<std::string>& takes_value,
                                           const std::set<std::string>& switches, Arguments& out) {
    for (size_t i = 0; i < words.size(); ++i) {
        const auto& w = words[i];
        if (w.rfind("--", 0) != 0) {
            out.positional.push_back(w);
            continue;
        }
        std::string name = w.substr(2);
        std::optional<std::string> value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        if (takes_value.count(name)) {
            if (!value) {
                if (i + 1 >= words.size()) return "--" + name + " needs a value";
                value = words[++i];
            }
            out.options[name] = *value;
        } else if (switches.count(name) && !value) {
            out.flags.insert(name);
        } else {
            return "unknown option --" + name;
        }
    }
    return std::nullopt;
}

}  // namespace meshgate::cli
