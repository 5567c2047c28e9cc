#include "check.hpp"
#include "slot_table.hpp"

using namespace paddler;

static void picks_the_free_slot_with_the_longest_shared_prefix() {
    SlotTable table(3);
    table.cached(0) = {1, 2};
    table.cached(1) = {1, 2, 3, 4};
    table.cached(2) = {9};
    auto choice = table.choose_free_slot({1, 2, 3, 5});
    CHECK(choice.has_value());
    CHECK(choice->slot == 1);
    CHECK(choice->reused_tokens == 3);
}

static void never_reuses_the_whole_prompt() {
    SlotTable table(1);
    table.cached(0) = {1, 2, 3};
    auto choice = table.choose_free_slot({1, 2, 3});
    CHECK(choice->reused_tokens == 2);
}

static void skips_busy_slots_and_reports_none_when_all_are_busy() {
    SlotTable table(2);
    table.cached(0) = {1, 2, 3};
    table.claim(0);
    auto choice = table.choose_free_slot({1, 2, 3, 4});
    CHECK(choice->slot == 1);
    CHECK(choice->reused_tokens == 0);
    table.claim(1);
    CHECK(!table.choose_free_slot({1}).has_value());
    CHECK(table.busy_count() == 2);
}

static void among_equal_slots_takes_the_least_recently_used() {
    SlotTable table(3);
    table.claim(0);
    table.release(0);
    table.claim(2);
    table.release(2);
    auto choice = table.choose_free_slot({7});
    CHECK(choice->slot == 1);
}

int main() {
    picks_the_free_slot_with_the_longest_shared_prefix();
    never_reuses_the_whole_prompt();
    skips_busy_slots_and_reports_none_when_all_are_busy();
    among_equal_slots_takes_the_least_recently_used();
    return 0;
}
