#include "control/prometheus.h"

#include <cstdio>

namespace meshgate::control {

namespace {

std::string escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

}  // namespace

void PrometheusWriter::family(const std::string& name, const std::string& help, const char* type) {
    if (!declared_.insert(name).second) return;
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void PrometheusWriter::sample(const std::string& name, const MetricLabels& labels, const std::string& value) {
    out_ << name;
    if (!labels.empty()) {
        out_ << "{";
        bool first = true;
        for (const auto& [k, v] : labels) {
            out_ << (first ? "" : ",") << k << "=\"" << escape(v) << "\"";
            first = false;
        }
        out_ << "}";
    }
    out_ << " " << value << "\n";
}

void PrometheusWriter::counter(const std::string& name, const std::string& help, uint64_t value, const MetricLabels& labels) {
    family(name, help, "counter");
    sample(name, labels, std::to_string(value));
}

void PrometheusWriter::gauge(const std::string& name, const std::string& help, double value, const MetricLabels& labels) {
    family(name, help, "gauge");
    sample(name, labels, number(value));
}

void PrometheusWriter::histogram_seconds(const std::string& name, const std::string& help, const LatencyHistogram& h) {
    family(name, help, "histogram");
    for (size_t b = 0; b < LatencyHistogram::buckets; ++b) {
        sample(name + "_bucket", {{"le", number(static_cast<double>(uint64_t{1} << b) / 1e6)}}, std::to_string(h.cumulative(b)));
    }
    sample(name + "_bucket", {{"le", "+Inf"}}, std::to_string(h.count()));
    sample(name + "_sum", {}, number(static_cast<double>(h.sum()) / 1e6));
    sample(name + "_count", {}, std::to_string(h.count()));
}

}  // namespace meshgate::control
