#include "dataplane/queue_layout.h"

#include <algorithm>

namespace meshgate::dataplane {

QueueLayout queue_layout(const DeviceQueues& device, uint32_t workers) {
    QueueLayout l;
    const uint16_t max_rx = std::max<uint16_t>(device.max_rx_queues, 1);
    const uint16_t max_tx = std::max<uint16_t>(device.max_tx_queues, 1);
    const auto up_to = [](uint32_t want, uint16_t have) { return static_cast<uint16_t>(std::min<uint32_t>(want, have)); };
    if (device.rss && max_rx > 1 && workers > 1) {
        l.rx_queues = up_to(workers, max_rx);
        l.rss = true;
    } else if (!device.rss) {
        l.rx_queues = max_rx;
    }
    l.tx_queues = up_to(std::max<uint32_t>(workers, l.rx_queues), max_tx);
    l.steer = workers > 1 && l.rx_queues < workers;
    return l;
}

std::vector<std::vector<RxAssignment>> assign_rx_queues(const std::vector<std::pair<uint16_t, QueueLayout>>& ports,
                                                        uint32_t workers) {
    std::vector<std::vector<RxAssignment>> out(workers);
    uint32_t next = 0;
    for (const auto& [port, layout] : ports) {
        for (uint16_t q = 0; q < layout.rx_queues; ++q) out[next++ % workers].push_back({port, q, layout.steer});
    }
    return out;
}

std::string describe(const std::string& port_name, const QueueLayout& l, uint32_t workers) {
    auto queues = [](uint16_t n) { return std::to_string(n) + (n == 1 ? " queue" : " queues"); };
    std::string line = port_name + ": " + queues(l.rx_queues) + " rx";
    if (l.rss) line += " (RSS)";
    if (l.steer) line += " (steered in software to " + std::to_string(workers) + " workers)";
    line += ", " + queues(l.tx_queues) + " tx";
    if (l.tx_queues < workers) {
        line += " (" + std::to_string(workers - l.tx_queues) + " worker(s) send through another's)";
    }
    return line;
}

}  // namespace meshgate::dataplane
