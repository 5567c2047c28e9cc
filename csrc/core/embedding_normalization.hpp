// How an embedding vector is scaled before it is returned. Pure math, unit
// tested without a model.
#pragma once

#include <vector>

namespace paddler {

enum class NormalizationMethod : unsigned char { None, L2, RmsNorm };

struct Normalization {
    NormalizationMethod method = NormalizationMethod::None;
    float epsilon = 1e-6f;  // RmsNorm only
};

// In place. A zero vector stays zero under L2 (there is no direction to keep).
void normalize_embedding(std::vector<float>& vector, const Normalization& normalization);

}  // namespace paddler
