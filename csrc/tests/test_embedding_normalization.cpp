#include <cmath>
#include <vector>

#include "check.hpp"
#include "embedding_normalization.hpp"

using namespace paddler;

static bool near(float a, float b) { return std::fabs(a - b) < 1e-5f; }

static void l2_gives_unit_length() {
    std::vector<float> v{3.0f, 4.0f};
    normalize_embedding(v, {NormalizationMethod::L2, 0});
    CHECK(near(v[0], 0.6f) && near(v[1], 0.8f));
}

static void l2_leaves_a_zero_vector_alone() {
    std::vector<float> v{0.0f, 0.0f};
    normalize_embedding(v, {NormalizationMethod::L2, 0});
    CHECK(v[0] == 0.0f && v[1] == 0.0f);
}

static void rms_norm_gives_unit_root_mean_square() {
    std::vector<float> v{1.0f, -3.0f, 2.0f, 5.0f};
    normalize_embedding(v, {NormalizationMethod::RmsNorm, 0.0f});
    double mean_square = 0;
    for (float x : v) mean_square += x * x;
    CHECK(near(static_cast<float>(mean_square / v.size()), 1.0f));
}

static void rms_norm_epsilon_keeps_a_zero_vector_finite() {
    std::vector<float> v{0.0f, 0.0f};
    normalize_embedding(v, {NormalizationMethod::RmsNorm, 1e-6f});
    CHECK(std::isfinite(v[0]) && v[0] == 0.0f);
}

static void none_changes_nothing() {
    std::vector<float> v{3.0f, 4.0f};
    normalize_embedding(v, {NormalizationMethod::None, 0});
    CHECK(v[0] == 3.0f && v[1] == 4.0f);
}

int main() {
    l2_gives_unit_length();
    l2_leaves_a_zero_vector_alone();
    rms_norm_gives_unit_root_mean_square();
    rms_norm_epsilon_keeps_a_zero_vector_finite();
    none_changes_nothing();
    return 0;
}
