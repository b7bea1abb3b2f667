#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace meshgate::hbone {

// Bytes waiting in one direction of a tunnel: appended at the back, taken from the front.
// The taken part is dropped when it outgrows the rest, so each byte moves at most once more.
class ByteQueue {
public:
    void append(std::span<const uint8_t> bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }
    std::span<const uint8_t> front() const { return std::span(bytes_).subspan(head_); }
    void pop(size_t n) {
        head_ += n;
        if (head_ == bytes_.size()) {
            bytes_.clear();
            head_ = 0;
        } else if (head_ > bytes_.size() / 2) {
            bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<long>(head_));
            head_ = 0;
        }
    }
    size_t size() const { return bytes_.size() - head_; }
    bool empty() const { return size() == 0; }

private:
    std::vector<uint8_t> bytes_;
    size_t head_ = 0;
};

}  // namespace meshgate::hbone
