#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace meshgate::config {

// The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or nothing when all of `text` is.
// TOML files must be UTF-8; checking first also keeps malformed bytes away from the parser.
inline std::optional<size_t> first_invalid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t length;
        unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
        if (c >= 0xc2 && c <= 0xdf) length = 2;
        else if (c == 0xe0) length = 3, low = 0xa0;
        else if (c == 0xed) length = 3, high = 0x9f;  // not a surrogate
        else if (c >= 0xe1 && c <= 0xef) length = 3;
        else if (c == 0xf0) length = 4, low = 0x90;
        else if (c == 0xf4) length = 4, high = 0x8f;  // ≤ U+10FFFF
        else if (c >= 0xf1 && c <= 0xf3) length = 4;
        else return i;
        if (i + length > n || s[i + 1] < low || s[i + 1] > high) return i;
        for (size_t k = 2; k < length; ++k) {
            if (s[i + k] < 0x80 || s[i + k] > 0xbf) return i;
        }
        i += length;
    }
    return std::nullopt;
}

}  // namespace meshgate::config
