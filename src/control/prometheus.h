#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "control/latency_histogram.h"

namespace meshgate::control {

using MetricLabels = std::map<std::string, std::string>;

// The Prometheus text exposition format (version 0.0.4): each family's HELP and TYPE once,
// before its first sample; label values escaped.
class PrometheusWriter {
public:
    void counter(const std::string& name, const std::string& help, uint64_t value, const MetricLabels& labels = {});
    void gauge(const std::string& name, const std::string& help, double value, const MetricLabels& labels = {});
    // A histogram of microsecond durations, exposed in seconds.
    void histogram_seconds(const std::string& name, const std::string& help, const LatencyHistogram& h);
    std::string text() const { return out_.str(); }

private:
    void family(const std::string& name, const std::string& help, const char* type);
    void sample(const std::string& name, const MetricLabels& labels, const std::string& value);

    std::ostringstream out_;
    std::set<std::string> declared_;
};

}  // namespace meshgate::control
