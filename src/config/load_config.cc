#include "config/load_config.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/sections.h"
#include "config/toml_reader.h"
#include "config/utf8.h"

namespace meshgate::config {

namespace {

// toml11 reports a syntax error at the start of the line and draws a caret under the
// offending character; the caret gives the real column.
uint32_t caret_column(const std::string& what, uint32_t fallback) {
    std::istringstream lines(what);
    std::string line;
    while (std::getline(lines, line)) {
        auto bar = line.find(" | ");
        auto caret = line.find('^');
        if (bar != std::string::npos && caret != std::string::npos && caret > bar) {
            return static_cast<uint32_t>(caret - (bar + 3) + 1);
        }
    }
    return fallback;
}

std::string first_line(const std::string& what) {
    auto text = what.substr(0, what.find('\n'));
    const std::string tag = "[error] ";
    if (text.rfind(tag, 0) == 0) text = text.substr(tag.size());
    return text;
}

LoadResult load(const std::string& text, const std::string& name) {
    LoadResult result;
    if (const auto bad = first_invalid_utf8(text)) {
        const auto line = static_cast<uint32_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n') + 1);
        size_t line_start = 0;
        if (*bad > 0) {
            if (const auto newline = text.rfind('\n', *bad - 1); newline != std::string::npos) line_start = newline + 1;
        }
        const auto column = static_cast<uint32_t>(*bad - line_start + 1);
        char byte[8];
        std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[*bad]));
        result.diagnostics.add({Diagnostic::Severity::error, name, line, column, "",
                                std::string("the file is not valid UTF-8 (TOML must be): unexpected byte ") + byte});
        return result;
    }
    toml::value root;
    try {
        std::istringstream in(text);
        root = toml::parse(in, name);
    } catch (const toml::syntax_error& e) {
        const auto loc = e.location();
        result.diagnostics.add({Diagnostic::Severity::error, name, loc.line(),
                                caret_column(e.what(), loc.column()), "", "TOML syntax: " + first_line(e.what())});
        return result;
    } catch (const std::exception& e) {
        result.diagnostics.add({Diagnostic::Severity::error, name, 0, 0, "", first_line(e.what())});
        return result;
    }

    Config config;
    config.source = name;
    TableReader reader(root, "", result.diagnostics);
    auto& d = result.diagnostics;
    sections::read_node(reader, config, d);
    sections::read_admin(reader, config, d);
    sections::read_announce(reader, config, d);
    sections::read_lb(reader, config, d);
    sections::read_dataplane(reader, config, d);
    sections::read_services(reader, config, d);
    sections::read_clusters(reader, config, d);
    sections::read_network_gateways(reader, config, d);
    sections::read_endpoints(reader, config, d);
    sections::read_destination_rules(reader, config, d);
    sections::read_hbone(reader, config, d);  // before the health checks: kind = "hbone" needs it
    sections::read_health_checks(reader, config, d);
    reader.finish();

    if (!d.has_errors()) result.config = std::move(config);
    return result;
}

}  // namespace

LoadResult load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        LoadResult result;
        result.diagnostics.add({Diagnostic::Severity::error, path, 0, 0, "", "cannot open the file"});
        return result;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return load(text.str(), path);
}

LoadResult load_config_string(std::string_view text, const std::string& name) { return load(std::string(text), name); }

}  // namespace meshgate::config
