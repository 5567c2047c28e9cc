// Turns the byte pieces of sampled tokens into text a client may see.
//
// Two things make that more than concatenation:
// - a token may end in the middle of a UTF-8 character, so the incomplete
//   tail is held until the next piece completes it;
// - a stop string may arrive split over several tokens, so any tail that could
//   still become a stop string is held until it is known not to.
// Released text is always valid UTF-8 (invalid bytes become U+FFFD) and never
// contains a stop string or anything after one.
//
// Thread contract: one instance per request, used by the engine thread only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace paddler {

struct TextRelease {
    std::string text;          // safe to show now
    bool stop_matched = false;  // a stop string was found; generation ends
};

class TextStream {
  public:
    explicit TextStream(std::vector<std::string> stop_strings);

    TextRelease push(std::string_view piece);
    // Everything still held, at the end of generation (not after a stop).
    std::string finish();

  private:
    std::size_t held_for_stop(std::string_view text) const;

    std::vector<std::string> stop_strings_;
    std::string incomplete_utf8_;  // bytes of a character not yet complete
    std::string held_;             // complete text that may start a stop string
};

// Replaces invalid UTF-8 sequences with U+FFFD.
std::string sanitize_utf8(std::string_view bytes);
// Length of the longest prefix of `bytes` that does not end inside a
// multi-byte character that could still be completed.
std::size_t complete_utf8_prefix(std::string_view bytes);

}  // namespace paddler
