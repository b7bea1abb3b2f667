#include "hbone/verified_chains.h"

#include <gtest/gtest.h>

namespace meshgate::hbone {
namespace {

VerifiedChains::Digest chain(uint8_t n) {
    VerifiedChains::Digest d{};
    d[0] = n;
    d[31] = static_cast<uint8_t>(~n);
    return d;
}

TEST(VerifiedChains, AChainIsKnownOnlyWithinItsCertificatesValidity) {
    VerifiedChains chains;
    EXPECT_FALSE(chains.known(chain(1), 1000));
    chains.remember(chain(1), 1000, 2000);
    EXPECT_FALSE(chains.known(chain(1), 999)) << "not yet valid";
    EXPECT_TRUE(chains.known(chain(1), 1000));
    EXPECT_TRUE(chains.known(chain(1), 1999));
    EXPECT_FALSE(chains.known(chain(1), 2000)) << "expired";
    EXPECT_FALSE(chains.known(chain(2), 1500)) << "another chain";
}

TEST(VerifiedChains, RememberingAgainMovesTheWindowWithoutAnotherEntry) {
    VerifiedChains chains(2);
    chains.remember(chain(1), 1000, 2000);
    chains.remember(chain(1), 1500, 3000);  // a renewed intermediate, say
    EXPECT_EQ(chains.size(), 1u);
    EXPECT_FALSE(chains.known(chain(1), 1200));
    EXPECT_TRUE(chains.known(chain(1), 2500));
}

TEST(VerifiedChains, TheOldestGoesWhenFull) {
    VerifiedChains chains(3);
    for (uint8_t n = 1; n <= 5; ++n) chains.remember(chain(n), 0, 100);
    EXPECT_EQ(chains.size(), 3u);
    EXPECT_FALSE(chains.known(chain(1), 50));
    EXPECT_FALSE(chains.known(chain(2), 50));
    for (uint8_t n = 3; n <= 5; ++n) EXPECT_TRUE(chains.known(chain(n), 50)) << int{n};
}

}  // namespace
}  // namespace meshgate::hbone
