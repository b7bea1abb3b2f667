// libFuzzer: bytes from a ztunnel into meshgate's HBONE client session (hbone/client_session.h),
// with three CONNECT streams open whose owners take half of what they are offered and write
// back what they get. The session must neither crash nor tell an owner anything twice or
// after the end.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>

#include "hbone/client_session.h"

namespace {

using namespace meshgate;

struct HalfTakingOwner : hbone::UpstreamEvents {
    std::map<int32_t, hbone::HboneUpstream*> links;
    std::map<int32_t, int> answers, ends;
    void upstream_connected(int32_t stream, Outcome) override {
        if (++answers[stream] > 1) std::abort();  // answered twice
    }
    size_t upstream_room(int32_t) override { return 4096; }
    size_t upstream_data(int32_t stream, std::span<const uint8_t> bytes) override {
        if (answers[stream] == 0 || ends[stream]) std::abort();  // bytes before the answer or after the end
        const size_t n = (bytes.size() + 1) / 2;
        if (auto* l = links[stream]) l->write(bytes.first(n));
        return n;
    }
    void upstream_closed(int32_t stream) override {
        if (++ends[stream] > 1) std::abort();
    }
    void upstream_failed(int32_t stream) override { ++ends[stream]; }
    void upstream_writable(int32_t) override {}
    void upstream_pump() override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hbone::ProxyCounters counters;
    HalfTakingOwner owner;
    hbone::ConnectHeaders headers{"for=\"10.0.0.1\"", "k=v", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"};
    std::vector<std::unique_ptr<hbone::HboneUpstream>> links;
    hbone::ClientSession session(counters, nullptr);
    hbone::ByteQueue out;
    for (int32_t s = 1; s <= 3; ++s) {
        links.push_back(std::make_unique<hbone::HboneUpstream>(owner, s, "10.1.0.11:8080", headers));
        owner.links[s] = links.back().get();
        session.add(*links.back());
    }
    links[2]->shutdown_write();
    // In pieces, as a socket delivers them.
    for (size_t at = 0; at < size;) {
        const size_t n = std::min<size_t>(size - at, 1 + data[at] % 64);
        const bool ok = session.receive(std::span(data + at, n));
        session.output_to(out, 1 << 20);
        out.pop(out.size());
        session.notify();
        if (!ok) break;
        at += n;
    }
    for (auto& l : links) l->resume();
    session.fail_all();
    return 0;
}
