#include "check.hpp"
#include "encode_policy.hpp"

using namespace paddler;

static void an_encode_with_nothing_else_to_decode_runs_alone() {
    EncodePolicy policy(512);
    policy.stepped(512, 2.0);
    policy.encoded(16, 100.0);  // far longer than a batch
    CHECK(policy.decide(16, false) == EncodeDecision::StartAlone);
}

static void an_encode_of_unknown_length_runs_alone_like_llama_servers() {
    EncodePolicy policy(512);
    CHECK(policy.decide(64, true) == EncodeDecision::StartAlone);
    policy.stepped(512, 2.0);
    CHECK(policy.decide(64, true) == EncodeDecision::StartAlone);
}

static void an_encode_shorter_than_a_full_batch_runs_alone() {
    EncodePolicy policy(512);
    policy.stepped(64, 0.25);    // 512 tokens: 2 s
    policy.encoded(16, 1.0);
    CHECK(*policy.batch_seconds() == 2.0);
    CHECK(*policy.expected_encode_seconds(16) == 1.0);
    CHECK(policy.decide(16, true) == EncodeDecision::StartAlone);
}

static void an_encode_longer_than_a_full_batch_runs_beside_decoding() {
    EncodePolicy policy(64);
    policy.stepped(64, 0.25);
    policy.encoded(16, 1.0);
    CHECK(policy.decide(16, true) == EncodeDecision::StartBeside);
    // Images of fewer tokens are expected to encode faster.
    CHECK(policy.decide(2, true) == EncodeDecision::StartAlone);
}

static void two_encodes_alone_have_a_decode_step_between_them() {
    EncodePolicy policy(512);
    policy.started_alone();
    CHECK(policy.decide(16, true) == EncodeDecision::Wait);
    CHECK(policy.decide(16, false) == EncodeDecision::StartAlone);
    policy.stepped(1, 0.01);
    CHECK(policy.decide(16, true) == EncodeDecision::StartAlone);
}

static void steps_of_few_tokens_do_not_count_towards_a_batchs_time() {
    EncodePolicy policy(512);
    policy.stepped(4, 1.0);
    CHECK(!policy.batch_seconds());
    policy.stepped(8, 0.08);
    CHECK(policy.batch_seconds().has_value());
}

static void later_measurements_move_the_estimates() {
    EncodePolicy policy(512);
    policy.encoded(10, 1.0);
    policy.encoded(10, 5.0);
    const double expected = *policy.expected_encode_seconds(10);
    CHECK(expected > 1.0 && expected < 5.0);
}

int main() {
    an_encode_with_nothing_else_to_decode_runs_alone();
    an_encode_of_unknown_length_runs_alone_like_llama_servers();
    an_encode_shorter_than_a_full_batch_runs_alone();
    an_encode_longer_than_a_full_batch_runs_beside_decoding();
    two_encodes_alone_have_a_decode_step_between_them();
    steps_of_few_tokens_do_not_count_towards_a_batchs_time();
    later_measurements_move_the_estimates();
    return 0;
}
