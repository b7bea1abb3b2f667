#include "config/toml_reader.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace meshgate::config {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), size_t{0});
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

}  // namespace

std::string closest(std::string_view word, const std::set<std::string>& candidates) {
    std::string best;
    size_t best_distance = SIZE_MAX;
    for (const auto& c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

std::string type_name(const toml::value& v) {
    switch (v.type()) {
        case toml::value_t::boolean: return "a boolean";
        case toml::value_t::integer: return "an integer";
        case toml::value_t::floating: return "a float";
        case toml::value_t::string: return "a string";
        case toml::value_t::array: return "an array";
        case toml::value_t::table: return "a table";
        case toml::value_t::offset_datetime:
        case toml::value_t::local_datetime:
        case toml::value_t::local_date:
        case toml::value_t::local_time: return "a date/time";
        case toml::value_t::empty: return "nothing";
    }
    return "a value";
}

Diagnostic located(const toml::value& at, std::string_view key, Diagnostic::Severity severity,
                   std::string path, std::string message) {
    const auto loc = at.location();
    Diagnostic d;
    d.severity = severity;
    d.file = loc.file_name();
    d.line = loc.line();
    d.column = loc.column();
    // Point at the key when it stands on the value's line before the value.
    const auto& line = loc.line_str();
    if (!key.empty() && d.column > 1) {
        auto pos = line.rfind(std::string(key), d.column - 1);
        if (pos != std::string::npos && pos > 0 && line[pos - 1] == '"') --pos;  // a quoted key
        if (pos != std::string::npos) d.column = static_cast<uint32_t>(pos + 1);
    }
    d.key = std::move(path);
    d.message = std::move(message);
    return d;
}

TableReader::TableReader(const toml::value& table, std::string path, Diagnostics& diagnostics)
    : table_(table), path_(std::move(path)), diagnostics_(diagnostics) {}

namespace {

// A key as TOML would write it in a dotted path: bare when it can be, quoted otherwise.
std::string key_text(std::string_view key) {
    const bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '[' || c == ']';
    });
    if (bare) return std::string(key);
    std::string quoted = "\"";  // built by append: see diagnostic.cc on GCC 12's -Wrestrict
    quoted.append(key).append("\"");
    return quoted;
}

}  // namespace

std::string TableReader::path(std::string_view key) const {
    if (key.empty()) return path_;
    return path_.empty() ? key_text(key) : path_ + "." + key_text(key);
}

bool TableReader::has(std::string_view key) const { return find(key) != nullptr; }

const toml::value* TableReader::find(std::string_view key) const {
    if (!table_.is_table()) return nullptr;
    const auto& t = table_.as_table();
    auto it = t.find(std::string(key));
    return it == t.end() ? nullptr : &it->second;
}

void TableReader::error(const toml::value& at, std::string_view key, std::string message) {
    diagnostics_.add(located(at, key, Diagnostic::Severity::error, path(key), std::move(message)));
}

void TableReader::warning(const toml::value& at, std::string_view key, std::string message) {
    diagnostics_.add(located(at, key, Diagnostic::Severity::warning, path(key), std::move(message)));
}

void TableReader::error_here(std::string_view key, std::string message) {
    diagnostics_.add(located(table_, "", Diagnostic::Severity::error, path(key), std::move(message)));
}

void TableReader::error_in(const toml::value& item, std::string_view array_key, std::string message) {
    diagnostics_.add(located(item, "", Diagnostic::Severity::error, path(array_key), std::move(message)));
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
    known(key);
    const auto* v = find(key);
    if (!v) {
        if (required) error_here(key, "required key is missing (expected a string)");
        return std::nullopt;
    }
    if (!v->is_string()) {
        error(*v, key, "expected a string, found " + type_name(*v));
        return std::nullopt;
    }
    return v->as_string().str;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
    known(key);
    const auto* v = find(key);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
        error(*v, key, "expected true or false, found " + type_name(*v));
        return std::nullopt;
    }
    return v->as_boolean();
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max, bool required) {
    known(key);
    const auto* v = find(key);
    if (!v) {
        if (required) error_here(key, "required key is missing (expected an integer)");
        return std::nullopt;
    }
    if (!v->is_integer()) {
        error(*v, key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                           ", found " + type_name(*v));
        return std::nullopt;
    }
    auto n = v->as_integer();
    if (n < min || n > max) {
        error(*v, key, "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                           ", found " + std::to_string(n));
        return std::nullopt;
    }
    return n;
}

std::optional<Duration> TableReader::duration(std::string_view key) {
    auto text = string(key);
    if (!text) return std::nullopt;
    auto d = parse_duration(*text);
    if (!d || d->count() == 0) {
        error(*find(key), key, "expected a positive duration with a unit such as \"500ms\", \"10s\" or \"5m\", found \"" +
                                   *text + "\"");
        return std::nullopt;
    }
    return d;
}

std::optional<IpAddress> TableReader::address(std::string_view key, bool required) {
    auto text = string(key, required);
    if (!text) return std::nullopt;
    auto a = IpAddress::parse(*text);
    if (!a) error(*find(key), key, "expected an IPv4 or IPv6 address, found \"" + *text + "\"");
    return a;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key) {
    const auto* items = array(key);
    if (!items) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& item : *items) {
        if (!item.is_string()) {
            error_in(item, key, "expected an array of strings, found " + type_name(item));
            return std::nullopt;
        }
        out.push_back(item.as_string().str);
    }
    return out;
}

namespace {

std::string found(const toml::value& v) {
    return v.is_string() ? "\"" + v.as_string().str + "\"" : type_name(v);
}

}  // namespace

std::vector<IpAddress> TableReader::addresses(std::string_view key) {
    std::vector<IpAddress> out;
    const auto* items = array(key);
    if (!items) return out;
    for (const auto& item : *items) {
        auto a = item.is_string() ? IpAddress::parse(item.as_string().str) : std::nullopt;
        if (a) out.push_back(*a);
        else error_in(item, key, "expected an IPv4 or IPv6 address, found " + found(item));
    }
    return out;
}

std::vector<IpPrefix> TableReader::prefixes(std::string_view key) {
    std::vector<IpPrefix> out;
    const auto* items = array(key);
    if (!items) return out;
    for (const auto& item : *items) {
        auto p = item.is_string() ? IpPrefix::parse(item.as_string().str) : std::nullopt;
        if (p) out.push_back(*p);
        else error_in(item, key, "expected an address with a prefix length such as \"10.10.0.2/24\", found " + found(item));
    }
    return out;
}

std::optional<Labels> TableReader::string_map(std::string_view key) {
    const auto* t = table(key);
    if (!t) return std::nullopt;
    Labels out;
    for (const auto& [k, v] : t->as_table()) {
        if (!v.is_string()) {
            error(v, k, "expected a string value in " + path(key) + ", found " + type_name(v));
            continue;
        }
        out[k] = v.as_string().str;
    }
    return out;
}

std::optional<size_t> TableReader::choice(std::string_view key, std::initializer_list<const char*> choices) {
    auto text = string(key);
    if (!text) return std::nullopt;
    size_t i = 0;
    std::string list;
    for (const char* c : choices) {
        if (*text == c) return i;
        list += (i == 0 ? "\"" : ", \"") + std::string(c) + "\"";
        ++i;
    }
    error(*find(key), key, "expected one of " + list + ", found \"" + *text + "\"");
    return std::nullopt;
}

const toml::value* TableReader::table(std::string_view key) {
    known(key);
    const auto* v = find(key);
    if (!v) return nullptr;
    if (!v->is_table()) {
        error(*v, key, "expected a table, found " + type_name(*v));
        return nullptr;
    }
    return v;
}

const toml::array* TableReader::array(std::string_view key) {
    known(key);
    const auto* v = find(key);
    if (!v) return nullptr;
    if (!v->is_array()) {
        error(*v, key, "expected an array, found " + type_name(*v));
        return nullptr;
    }
    return &v->as_array();
}

const toml::array* TableReader::tables(std::string_view key) {
    const auto* items = array(key);
    if (!items) return nullptr;
    for (const auto& item : *items) {
        if (!item.is_table()) {
            error_in(item, key, "expected an array of tables, found " + type_name(item));
            return nullptr;
        }
    }
    return items;
}

void TableReader::finish() {
    if (!table_.is_table()) return;
    for (const auto& [key, value] : table_.as_table()) {
        if (known_.count(key)) continue;
        std::string message = "unknown key";
        auto suggestion = closest(key, known_);
        if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
        error(value, key, message);
    }
}

}  // namespace meshgate::config
