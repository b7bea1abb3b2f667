#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml.hpp>

#include "core/address.h"
#include "core/diagnostic.h"
#include "core/duration.h"
#include "core/locality.h"

namespace meshgate::config {

// Reads one TOML table for one section of the schema. Every getter records its key as
// known, so finish() can name each unknown key with the closest known one. Problems go to
// `diagnostics` with file:line:column and the dotted key path; getters then return nullopt
// and the caller keeps its default.
class TableReader {
public:
    TableReader(const toml::value& table, std::string path, Diagnostics& diagnostics);

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<bool> boolean(std::string_view key);
    std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max, bool required = false);
    std::optional<Duration> duration(std::string_view key);
    std::optional<IpAddress> address(std::string_view key, bool required = false);
    std::optional<std::vector<std::string>> strings(std::string_view key);
    // Arrays of addresses ("10.0.0.1") and of prefixes ("10.0.0.2/24"); bad items are reported.
    std::vector<IpAddress> addresses(std::string_view key);
    std::vector<IpPrefix> prefixes(std::string_view key);
    std::optional<Labels> string_map(std::string_view key);
    // One of `choices`, compared exactly; returns its index.
    std::optional<size_t> choice(std::string_view key, std::initializer_list<const char*> choices);
    // A sub-table or an array of tables; nullptr when absent or of another type (reported).
    const toml::value* table(std::string_view key);
    const toml::array* tables(std::string_view key);
    const toml::array* array(std::string_view key);
    // Declares a key known without reading it (read elsewhere).
    void known(std::string_view key) { known_.insert(std::string(key)); }

    bool has(std::string_view key) const;
    const toml::value* find(std::string_view key) const;
    std::string path(std::string_view key) const;
    void error(const toml::value& at, std::string_view key, std::string message);
    void warning(const toml::value& at, std::string_view key, std::string message);
    void error_here(std::string_view key, std::string message);  // at the table itself
    void error_in(const toml::value& item, std::string_view array_key, std::string message);  // an array item
    // Reports every key of the table nobody asked for.
    void finish();

private:
    const toml::value& table_;
    std::string path_;
    Diagnostics& diagnostics_;
    std::set<std::string> known_;
};

// file, line and column of a value; for a key, the column of the key itself.
Diagnostic located(const toml::value& at, std::string_view key, Diagnostic::Severity severity,
                   std::string path, std::string message);

std::string closest(std::string_view word, const std::set<std::string>& candidates);
std::string type_name(const toml::value& v);

}  // namespace meshgate::config
