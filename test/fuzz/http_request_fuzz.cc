// libFuzzer: bytes as the head of a request to the metrics endpoint.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/metrics_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto r = meshgate::control::parse_request_head(in, 1024);
    if (r.complete && r.status == 0 && (r.path.empty() || r.path.front() != '/')) std::abort();
    if (!r.complete && (in.size() > 1024 || in.find("\r\n\r\n") != std::string_view::npos)) std::abort();
    return 0;
}
