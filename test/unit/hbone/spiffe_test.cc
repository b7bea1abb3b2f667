#include "hbone/spiffe.h"

#include <gtest/gtest.h>

namespace meshgate::hbone {
namespace {

TEST(SpiffeId, IstioIdentitiesParse) {
    const auto id = SpiffeId::parse("spiffe://cluster.local/ns/shop/sa/web");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->trust_domain, "cluster.local");
    EXPECT_EQ(id->path, "/ns/shop/sa/web");
    EXPECT_EQ(id->ns(), "shop");
    EXPECT_EQ(id->service_account(), "web");
    EXPECT_EQ(id->to_string(), "spiffe://cluster.local/ns/shop/sa/web");
}

TEST(SpiffeId, OtherShapesParseWithoutIstioParts) {
    const auto bare = SpiffeId::parse("spiffe://example.org");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->path, "");
    EXPECT_FALSE(bare->ns());
    const auto other = SpiffeId::parse("spiffe://example.org/workload/a_b-c.d");
    ASSERT_TRUE(other);
    EXPECT_FALSE(other->service_account());
    EXPECT_FALSE(SpiffeId::parse("spiffe://td/ns/shop/sa/web/extra")->ns());
}

TEST(SpiffeId, WhatTheStandardRefuses) {
    for (const char* bad : {"", "spiffe://", "spiffe:///ns/a", "http://cluster.local/ns/a/sa/b", "SPIFFE://td/x",
                            "spiffe://Cluster.local/x",     // upper-case trust domain
                            "spiffe://td:443/x",            // a port
                            "spiffe://user@td/x",           // user info
                            "spiffe://td/", "spiffe://td/a//b", "spiffe://td/a/",  // empty segments
                            "spiffe://td/a/./b", "spiffe://td/a/..", "spiffe://td/a?b", "spiffe://td/a#b", "spiffe://td/a%20b"}) {
        EXPECT_FALSE(SpiffeId::parse(bad)) << bad;
    }
}

TEST(IdentityMatches, ExactOrAPrefixPattern) {
    const std::string web = "spiffe://cluster.local/ns/shop/sa/web";
    EXPECT_TRUE(identity_matches(web, web));
    EXPECT_FALSE(identity_matches(web, web + "2"));
    EXPECT_TRUE(identity_matches("spiffe://cluster.local/ns/shop/sa/*", web));
    EXPECT_TRUE(identity_matches("spiffe://cluster.local/ns/shop/*", web));
    EXPECT_FALSE(identity_matches("spiffe://cluster.local/ns/shop/sa/*", "spiffe://cluster.local/ns/shop/sa/"));
    EXPECT_FALSE(identity_matches("spiffe://cluster.local/ns/shop/sa/*", "spiffe://cluster.local/ns/shopping/sa/web"));
    EXPECT_FALSE(identity_matches("spiffe://cluster.local/ns/shop/sa/*", "spiffe://other.example/ns/shop/sa/web"));
    EXPECT_FALSE(identity_matches("spiffe://cluster.local/ns/shop/sa/w*", web)) << "only a whole last segment is a wildcard";
    EXPECT_FALSE(identity_matches("*", web));
}

}  // namespace
}  // namespace meshgate::hbone
