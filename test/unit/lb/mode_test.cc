// Mode precedence: semantics.md §2 and TV11 (adapted: meshgate has no namespace annotation;
// its third level is the ServiceEntry annotation, and an unknown value gives the hop default).
#include "lb/mode.h"

#include <gtest/gtest.h>

namespace meshgate::lb {
namespace {

Service service(std::optional<std::string> spec, std::optional<std::string> annotation,
                ServiceKind kind = ServiceKind::service) {
    Service s;
    s.kind = kind;
    s.name = "svc";
    s.ns = "ns";
    if (kind == ServiceKind::service) s.traffic_distribution = spec;
    if (annotation) s.annotations[traffic_distribution_annotation] = *annotation;
    return s;
}

TEST(ResolveMode, TV11SpecBeatsAnnotation) {
    auto d = resolve_mode(service("PreferSameNode", "PreferClose"), Hop::backend, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::prefer_same_node);
    EXPECT_EQ(d.source, ModeSource::spec);
    EXPECT_TRUE(d.warnings.empty());
}

TEST(ResolveMode, TV11AnnotationIsCaseInsensitive) {
    auto d = resolve_mode(service(std::nullopt, "preferclose"), Hop::backend, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::prefer_same_zone);
    EXPECT_EQ(d.name, "PreferClose");
    EXPECT_EQ(d.source, ModeSource::service_annotation);
}

TEST(ResolveMode, TV11UnknownAnnotationWarnsAndUsesTheHopDefault) {
    auto backend = resolve_mode(service(std::nullopt, "Bogus"), Hop::backend, nullptr);
    EXPECT_EQ(backend.mode, TrafficMode::prefer_network);
    EXPECT_EQ(backend.source, ModeSource::hop_default);
    ASSERT_EQ(backend.warnings.size(), 1u);
    EXPECT_NE(backend.warnings[0].find("Bogus"), std::string::npos);
    auto waypoint = resolve_mode(service(std::nullopt, "Bogus"), Hop::waypoint, nullptr);
    EXPECT_EQ(waypoint.mode, TrafficMode::prefer_same_zone);
}

TEST(ResolveMode, TV11UnknownSpecValueFallsThrough) {
    auto d = resolve_mode(service("SomethingNew", "PreferSameNode"), Hop::backend, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::prefer_same_node);
    EXPECT_EQ(d.source, ModeSource::service_annotation);
    EXPECT_EQ(d.warnings.size(), 1u);
}

TEST(ResolveMode, SpecIsCaseSensitive) {
    auto d = resolve_mode(service("preferclose", std::nullopt), Hop::backend, nullptr);
    EXPECT_EQ(d.source, ModeSource::hop_default);
    EXPECT_EQ(d.warnings.size(), 1u);
}

TEST(ResolveMode, TV11InternalTrafficPolicyLocalWins) {
    auto s = service("PreferClose", std::nullopt);
    s.internal_traffic_policy = InternalTrafficPolicy::local;
    auto d = resolve_mode(s, Hop::backend, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::local);
    EXPECT_EQ(d.source, ModeSource::internal_traffic_policy);
}

TEST(ResolveMode, TV11WaypointAnnotation) {
    auto d = resolve_mode(service(std::nullopt, "PreferClose"), Hop::waypoint, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::prefer_same_zone);
}

TEST(ResolveMode, ServiceEntryAnnotationIsItsOwnSource) {
    auto d = resolve_mode(service(std::nullopt, "PreferRegion", ServiceKind::service_entry), Hop::backend, nullptr);
    EXPECT_EQ(d.mode, TrafficMode::prefer_region);
    EXPECT_EQ(d.source, ModeSource::serviceentry_annotation);
}

TEST(ResolveMode, HopDefaults) {
    EXPECT_EQ(resolve_mode(service(std::nullopt, std::nullopt), Hop::backend, nullptr).mode, TrafficMode::prefer_network);
    EXPECT_EQ(resolve_mode(service(std::nullopt, std::nullopt), Hop::waypoint, nullptr).mode, TrafficMode::prefer_same_zone);
}

TEST(ResolveMode, DestinationRuleWithLocalitySettingReplacesTheMode) {
    DestinationRule rule;
    rule.host = "svc";
    rule.locality_lb_setting.emplace();
    auto d = resolve_mode(service("PreferSameNode", std::nullopt), Hop::backend, &rule);
    EXPECT_EQ(d.mode, TrafficMode::destination_rule);
    EXPECT_EQ(d.source, ModeSource::destination_rule);
    DestinationRule outlier_only;
    outlier_only.outlier_detection.emplace();
    EXPECT_EQ(resolve_mode(service("PreferSameNode", std::nullopt), Hop::backend, &outlier_only).mode,
              TrafficMode::prefer_same_node);
}

TEST(ResolveMode, ModeSourceNamesAreTheJsonContract) {
    EXPECT_STREQ(to_string(ModeSource::spec), "spec.trafficDistribution");
    EXPECT_STREQ(to_string(ModeSource::service_annotation), "service-annotation");
    EXPECT_STREQ(to_string(ModeSource::serviceentry_annotation), "serviceentry-annotation");
    EXPECT_STREQ(to_string(ModeSource::internal_traffic_policy), "internal-traffic-policy");
    EXPECT_STREQ(to_string(ModeSource::destination_rule), "destination-rule");
    EXPECT_STREQ(to_string(ModeSource::hop_default), "default");
}

}  // namespace
}  // namespace meshgate::lb
