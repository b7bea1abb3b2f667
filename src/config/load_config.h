#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/diagnostic.h"

namespace meshgate::config {

// A Config when the file had no errors, and every error and warning found (all of them,
// not just the first). A Config is never returned alongside an error.
struct LoadResult {
    std::optional<Config> config;
    Diagnostics diagnostics;
};

LoadResult load_config_file(const std::string& path);
// The same from text; `name` stands for the file name in messages.
LoadResult load_config_string(std::string_view text, const std::string& name);

}  // namespace meshgate::config
