// [[destination_rule]] and [[health_check]].
#include "config/sections.h"

namespace meshgate::config::sections {

namespace {

void read_locality_lb(const toml::value& table, const std::string& path, LocalityLbSetting& s, Diagnostics& diagnostics) {
    TableReader r(table, path, diagnostics);
    if (auto v = r.boolean("enabled")) s.enabled = *v;
    if (const auto* list = r.tables("distribute")) {
        for (size_t i = 0; i < list->size(); ++i) {
            TableReader d((*list)[i], r.path(element_path("distribute", i)), diagnostics);
            DistributeRule rule;
            if (auto v = d.string("from", true)) rule.from = *v;
            uint64_t sum = 0;
            if (const auto* to = d.table("to")) {
                TableReader patterns(*to, d.path("to"), diagnostics);
                for (const auto& [pattern, weight] : to->as_table()) {
                    if (!weight.is_integer() || weight.as_integer() < 0 || weight.as_integer() > 100) {
                        patterns.error(weight, pattern, "expected a weight from 0 to 100, found " +
                                                            (weight.is_integer() ? std::to_string(weight.as_integer()) : type_name(weight)));
                        continue;
                    }
                    rule.to.emplace_back(pattern, static_cast<uint32_t>(weight.as_integer()));
                    sum += static_cast<uint64_t>(weight.as_integer());
                }
                if (!rule.to.empty() && sum != 100) {
                    d.warning(*to, "to", "the weights add up to " + std::to_string(sum) + ", not 100");
                }
            } else if (!d.has("to")) {
                d.error_here("to", "required key is missing (expected a table of locality pattern = weight)");
            }
            d.finish();
            s.distribute.push_back(std::move(rule));
        }
    }
    if (const auto* list = r.tables("failover")) {
        for (size_t i = 0; i < list->size(); ++i) {
            TableReader f((*list)[i], r.path(element_path("failover", i)), diagnostics);
            FailoverRule rule;
            if (auto v = f.string("from", true)) rule.from = *v;
            if (auto v = f.string("to", true)) rule.to = *v;
            if (!rule.from.empty() && rule.from == rule.to) {
                f.error(*f.find("to"), "to", "failover from a region to itself (\"" + rule.to + "\") does nothing");
            }
            f.finish();
            s.failover.push_back(std::move(rule));
        }
    }
    if (auto v = r.strings("failover_priority")) {
        for (const auto& key : *v) {
            if (key.empty() || key.front() == '=') r.error(*r.find("failover_priority"), "failover_priority", "expected \"label\" or \"label=value\", found \"" + key + "\"");
        }
        s.failover_priority = *v;
    }
    if (!s.distribute.empty() && (!s.failover.empty() || !s.failover_priority.empty())) {
        r.warning(*r.find("distribute"), "distribute", "set only one of distribute, failover, failover_priority: distribute wins");
    }
    r.finish();
}

void read_outlier_detection(const toml::value& table, const std::string& path, OutlierDetectionPolicy& o,
                            Diagnostics& diagnostics) {
    TableReader r(table, path, diagnostics);
    if (auto v = r.integer("consecutive_5xx_errors", 0, 1'000'000)) o.consecutive_5xx_errors = static_cast<uint32_t>(*v);
    if (auto v = r.integer("consecutive_gateway_errors", 0, 1'000'000)) o.consecutive_gateway_errors = static_cast<uint32_t>(*v);
    if (auto v = r.integer("consecutive_local_origin_failures", 0, 1'000'000)) o.consecutive_local_origin_failures = static_cast<uint32_t>(*v);
    if (auto v = r.boolean("split_external_local_origin_errors")) o.split_external_local_origin_errors = *v;
    if (auto v = r.duration("interval")) o.interval = *v;
    if (auto v = r.duration("base_ejection_time")) o.base_ejection_time = *v;
    if (auto v = r.integer("max_ejection_percent", 0, 100)) o.max_ejection_percent = static_cast<uint32_t>(*v);
    if (auto v = r.integer("min_health_percent", 0, 100)) o.min_health_percent = static_cast<uint32_t>(*v);
    r.finish();
}

}  // namespace

void read_destination_rules(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* list = root.tables("destination_rule");
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
        TableReader r((*list)[i], element_path("destination_rule", i), diagnostics);
        DestinationRule rule;
        if (auto v = r.string("host", true)) rule.host = *v;
        if (const auto* tp = r.table("traffic_policy")) {
            TableReader t(*tp, r.path("traffic_policy"), diagnostics);
            if (const auto* lbt = t.table("load_balancer")) {
                TableReader l(*lbt, t.path("load_balancer"), diagnostics);
                if (const auto* setting = l.table("locality_lb_setting")) {
                    rule.locality_lb_setting.emplace();
                    read_locality_lb(*setting, l.path("locality_lb_setting"), *rule.locality_lb_setting, diagnostics);
                }
                l.finish();
            }
            if (const auto* od = t.table("outlier_detection")) {
                rule.outlier_detection.emplace();
                read_outlier_detection(*od, t.path("outlier_detection"), *rule.outlier_detection, diagnostics);
            }
            t.finish();
        }
        r.finish();
        for (const auto& other : config.destination_rules) {
            if (!rule.host.empty() && other.host == rule.host) {
                r.error(*r.find("host"), "host", "another destination_rule already targets host \"" + rule.host + "\"");
            }
        }
        config.destination_rules.push_back(std::move(rule));
    }
}

void read_health_checks(TableReader& root, Config& config, Diagnostics& diagnostics) {
    const auto* list = root.tables("health_check");
    if (!list) return;
    for (size_t i = 0; i < list->size(); ++i) {
        TableReader r((*list)[i], element_path("health_check", i), diagnostics);
        HealthCheck hc;
        if (auto v = r.string("service", true)) {
            hc.service = *v;
            if (!config.find_service(*v)) r.error(*r.find("service"), "service", "no service or service_entry \"" + *v + "\" is defined");
        }
        if (auto v = r.choice("kind", {"tcp", "http", "hbone"})) {
            hc.kind = static_cast<HealthCheckKind>(*v);
            if (hc.kind == HealthCheckKind::hbone && !config.hbone) {
                r.error(*r.find("kind"), "kind", "kind = \"hbone\" needs an [hbone] section: its certificate proves meshgate to the ztunnels");
            }
        }
        if (auto v = r.string("path")) {
            if (v->empty() || v->front() != '/') r.error(*r.find("path"), "path", "expected an absolute HTTP path such as \"/healthz\", found \"" + *v + "\"");
            hc.path = *v;
        }
        if (hc.kind == HealthCheckKind::http && !r.has("path")) r.error_here("path", "an http health check needs a path");
        if (hc.kind != HealthCheckKind::http && r.has("path")) r.warning(*r.find("path"), "path", "path is used only by kind = \"http\"");
        if (auto v = r.duration("interval")) hc.interval = *v;
        if (auto v = r.duration("timeout")) hc.timeout = *v;
        if (auto v = r.integer("healthy_threshold", 1, 1000)) hc.healthy_threshold = static_cast<uint32_t>(*v);
        if (auto v = r.integer("unhealthy_threshold", 1, 1000)) hc.unhealthy_threshold = static_cast<uint32_t>(*v);
        hc.jitter = hc.interval / 10;
        if (auto v = r.duration("jitter")) {
            hc.jitter = *v;
            if (hc.jitter >= hc.interval) r.error(*r.find("jitter"), "jitter", "the jitter must be shorter than the interval");
        }
        if (hc.timeout > hc.interval) {
            const auto* at = r.find("timeout") ? r.find("timeout") : &(*list)[i];
            r.error(*at, "timeout", "the timeout (" + format_duration(hc.timeout) + ") is longer than the interval (" +
                                        format_duration(hc.interval) + ")");
        }
        r.finish();
        config.health_checks.push_back(std::move(hc));
    }
}

}  // namespace meshgate::config::sections
