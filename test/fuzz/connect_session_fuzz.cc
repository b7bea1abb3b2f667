// libFuzzer: bytes from an HBONE client into the server's HTTP/2 CONNECT session
// (hbone/connect_session.h), with upstreams that connect at once, take half of what they are
// offered and answer with what they got. The session must neither crash nor grow without bound.
#include <cstdint>
#include <cstdlib>
#include <map>

#include "hbone/connect_session.h"

namespace {

using namespace meshgate;

Config make_config() {
    Config c;
    Service web;
    web.name = "web";
    web.ns = "shop";
    web.vips = {*IpAddress::parse("10.96.0.10")};
    web.ports = {{80, 8080, Protocol::tcp}};
    c.services = {web};
    Endpoint e;
    e.service = "shop/web";
    e.address = *IpAddress::parse("10.1.0.11");
    c.endpoints = {e};
    return c;
}

struct EchoUpstreams : hbone::Upstreams {
    hbone::ConnectSession* session = nullptr;
    std::map<int32_t, bool> open_streams;
    void open(int32_t stream, const hbone::ConnectDecision&, const hbone::ConnectHeaders&) override {
        open_streams[stream] = true;
        session->connected(stream, stream % 3 != 0);  // some fail: 503
        if (stream % 3 == 0) open_streams.erase(stream);
    }
    size_t write(int32_t stream, std::span<const uint8_t> bytes) override {
        const size_t n = (bytes.size() + 1) / 2;
        session->upstream_data(stream, bytes.first(n));
        return n;
    }
    void shutdown_write(int32_t stream) override { session->upstream_closed(stream); }
    void close(int32_t stream) override {
        if (!open_streams.erase(stream)) std::abort();  // closed twice, or never opened
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Config config = make_config();
    EchoUpstreams upstreams;
    {
        hbone::ConnectSession session(config, {"spiffe://cluster.local/ns/shop/sa/web"}, upstreams);
        upstreams.session = &session;
        // In pieces, as a socket delivers them.
        for (size_t at = 0; at < size;) {
            const size_t n = std::min<size_t>(size - at, 1 + data[at] % 64);
            const bool ok = session.receive(std::span(data + at, n));
            session.output();
            if (!ok) break;
            at += n;
        }
        for (const auto& [stream, open] : upstreams.open_streams) session.upstream_writable(stream);
        session.output();
    }
    if (!upstreams.open_streams.empty()) std::abort();  // every opened upstream was closed
    return 0;
}
