#include <gtest/gtest.h>

#include "cli/commands.h"

namespace meshgate::cli {
namespace {

TEST(EndpointName, AddressWithAndWithoutPort) {
    auto a = parse_endpoint_name("shop/cart", "10.1.0.11");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->service, "shop/cart");
    EXPECT_EQ(a->address, "10.1.0.11");
    EXPECT_EQ(a->port, 0);
    auto b = parse_endpoint_name("shop/cart", "10.1.0.11:9080");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->address, "10.1.0.11");
    EXPECT_EQ(b->port, 9080);
}

TEST(EndpointName, IPv6BareAndBracketed) {
    auto a = parse_endpoint_name("shop/cart", "fd00::11");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->address, "fd00::11");
    EXPECT_EQ(a->port, 0);
    auto b = parse_endpoint_name("shop/cart", "[fd00::11]:80");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->address, "fd00::11");
    EXPECT_EQ(b->port, 80);
}

TEST(EndpointName, MalformedIsRefused) {
    EXPECT_FALSE(parse_endpoint_name("cart", "10.1.0.11"));  // no namespace
    EXPECT_FALSE(parse_endpoint_name("shop/cart", "10.1.0.300"));
    EXPECT_FALSE(parse_endpoint_name("shop/cart", "10.1.0.11:99999"));
    EXPECT_FALSE(parse_endpoint_name("shop/cart", "cart.example"));
}

}  // namespace
}  // namespace meshgate::cli
