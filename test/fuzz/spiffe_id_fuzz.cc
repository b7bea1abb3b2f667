// libFuzzer: bytes as the URI SAN of a peer's certificate (hbone/spiffe.h). What parses prints
// back as itself, and matches itself exactly and under its trust domain's wildcard.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "hbone/spiffe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string in(reinterpret_cast<const char*>(data), size);
    const auto id = meshgate::hbone::SpiffeId::parse(in);
    if (!id) return 0;
    if (id->to_string() != in) std::abort();
    if (!meshgate::hbone::identity_matches(in, in)) std::abort();
    if (!id->path.empty() && !meshgate::hbone::identity_matches("spiffe://" + id->trust_domain + "/*", in)) std::abort();
    if (id->ns() && id->path != "/ns/" + *id->ns() + "/sa/" + *id->service_account()) std::abort();
    return 0;
}
