#include "text_stream.hpp"

#include <algorithm>

namespace paddler {

namespace {

// Length a UTF-8 sequence announces by its lead byte; 0 for a byte that
// cannot start one.
std::size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if ((lead & 0xE0) == 0xC0) return lead >= 0xC2 ? 2 : 0;
    if ((lead & 0xF0) == 0xE0) return 3;
    if ((lead & 0xF8) == 0xF0) return lead <= 0xF4 ? 4 : 0;
    return 0;
}

bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

}  // namespace

std::size_t complete_utf8_prefix(std::string_view bytes) {
    // Look back at most 3 bytes for the lead byte of the last sequence.
    const std::size_t size = bytes.size();
    for (std::size_t back = 1; back <= std::min<std::size_t>(4, size); ++back) {
        const auto byte = static_cast<unsigned char>(bytes[size - back]);
        if (is_continuation(byte)) {
            continue;
        }
        const std::size_t needed = sequence_length(byte);
        if (needed > back) {
            return size - back;  // the last character is still incomplete
        }
        return size;
    }
    return size;
}

std::string sanitize_utf8(std::string_view bytes) {
    static constexpr std::string_view replacement = "\xEF\xBF\xBD";
    std::string out;
    out.reserve(bytes.size());
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto lead = static_cast<unsigned char>(bytes[i]);
        const std::size_t needed = sequence_length(lead);
        bool valid = needed != 0 && i + needed <= bytes.size();
        for (std::size_t k = 1; valid && k < needed; ++k) {
            valid = is_continuation(static_cast<unsigned char>(bytes[i + k]));
        }
        if (valid && needed == 3) {
            const auto second = static_cast<unsigned char>(bytes[i + 1]);
            // Overlong forms and UTF-16 surrogates are not valid UTF-8.
            valid = !(lead == 0xE0 && second < 0xA0) && !(lead == 0xED && second >= 0xA0);
        } else if (valid && needed == 4) {
            const auto second = static_cast<unsigned char>(bytes[i + 1]);
            valid = !(lead == 0xF0 && second < 0x90) && !(lead == 0xF4 && second >= 0x90);
        }
        if (valid) {
            out.append(bytes.substr(i, needed));
            i += needed;
        } else {
            out.append(replacement);
            i += 1;
        }
    }
    return out;
}

TextStream::TextStream(std::vector<std::string> stop_strings) : stop_strings_(std::move(stop_strings)) {
    std::erase_if(stop_strings_, [](const std::string& s) { return s.empty(); });
}

std::size_t TextStream::held_for_stop(std::string_view text) const {
    // The longest suffix of `text` that is a proper prefix of a stop string.
    std::size_t hold = 0;
    for (const auto& stop : stop_strings_) {
        const std::size_t longest = std::min(stop.size() - 1, text.size());
        for (std::size_t len = longest; len > hold; --len) {
            if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
                hold = len;
                break;
            }
        }
    }
    return hold;
}

TextRelease TextStream::push(std::string_view piece) {
    incomplete_utf8_.append(piece);
    const std::size_t complete = complete_utf8_prefix(incomplete_utf8_);
    held_ += sanitize_utf8(std::string_view(incomplete_utf8_).substr(0, complete));
    incomplete_utf8_.erase(0, complete);

    TextRelease release;
    std::size_t first_stop = std::string::npos;
    for (const auto& stop : stop_strings_) {
        first_stop = std::min(first_stop, held_.find(stop));
    }
    if (first_stop != std::string::npos) {
        release.text = held_.substr(0, first_stop);
        release.stop_matched = true;
        held_.clear();
        incomplete_utf8_.clear();
        return release;
    }
    // A stop string that begins in held_ and continues into the incomplete
    // bytes also shows as a held_ suffix that is a prefix of it.
    const std::size_t hold = held_for_stop(held_);
    release.text = held_.substr(0, held_.size() - hold);
    held_.erase(0, held_.size() - hold);
    return release;
}

std::string TextStream::finish() {
    std::string rest = std::move(held_);
    rest += sanitize_utf8(incomplete_utf8_);
    held_.clear();
    incomplete_utf8_.clear();
    return rest;
}

}  // namespace paddler
