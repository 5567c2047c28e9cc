#include <string>

#include "check.hpp"
#include "text_stream.hpp"

using namespace paddler;

static void releases_plain_text_at_once() {
    TextStream stream({});
    auto r = stream.push("Hello");
    CHECK(r.text == "Hello");
    CHECK(!r.stop_matched);
}

static void holds_an_incomplete_utf8_character_until_it_completes() {
    TextStream stream({});
    // "é" is C3 A9; a token may end after C3.
    auto first = stream.push("caf\xC3");
    CHECK(first.text == "caf");
    auto second = stream.push("\xA9!");
    CHECK(second.text == "\xC3\xA9!");
}

static void holds_a_possible_stop_string_prefix_and_releases_it_when_it_diverges() {
    TextStream stream({"</end>"});
    auto first = stream.push("answer </e");
    CHECK(first.text == "answer ");
    auto second = stream.push("xtra");
    CHECK(second.text == "</extra");
    CHECK(!second.stop_matched);
}

static void cuts_text_at_a_stop_string_split_over_pieces() {
    TextStream stream({"STOP"});
    CHECK(stream.push("one ST").text == "one ");
    auto r = stream.push("OP two");
    CHECK(r.stop_matched);
    CHECK(r.text == "");
}

static void cuts_at_the_earliest_of_several_stop_strings() {
    TextStream stream({"b", "xyz"});
    auto r = stream.push("axyzb");
    CHECK(r.stop_matched);
    CHECK(r.text == "a");
}

static void finish_returns_what_was_held() {
    TextStream stream({"STOP"});
    CHECK(stream.push("end ST").text == "end ");
    CHECK(stream.finish() == "ST");
}

static void invalid_bytes_become_replacement_characters() {
    CHECK(sanitize_utf8("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
    CHECK(sanitize_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    TextStream stream({});
    CHECK(stream.push("x\xE2\x82").text == "x");
    CHECK(stream.finish() == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

static void complete_prefix_counts_whole_characters() {
    CHECK(complete_utf8_prefix("abc") == 3);
    CHECK(complete_utf8_prefix("a\xF0\x9F\x98") == 1);
    CHECK(complete_utf8_prefix("a\xF0\x9F\x98\x80") == 5);
}

int main() {
    releases_plain_text_at_once();
    holds_an_incomplete_utf8_character_until_it_completes();
    holds_a_possible_stop_string_prefix_and_releases_it_when_it_diverges();
    cuts_text_at_a_stop_string_split_over_pieces();
    cuts_at_the_earliest_of_several_stop_strings();
    finish_returns_what_was_held();
    invalid_bytes_become_replacement_characters();
    complete_prefix_counts_whole_characters();
    return 0;
}
