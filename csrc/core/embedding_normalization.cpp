#include "embedding_normalization.hpp"

#include <cmath>

namespace paddler {

void normalize_embedding(std::vector<float>& vector, const Normalization& normalization) {
    if (vector.empty()) return;
    double sum_of_squares = 0.0;
    for (const float value : vector) {
        sum_of_squares += static_cast<double>(value) * value;
    }
    double scale = 1.0;
    switch (normalization.method) {
        case NormalizationMethod::None:
            return;
        case NormalizationMethod::L2:
            if (sum_of_squares == 0.0) return;
            scale = 1.0 / std::sqrt(sum_of_squares);
            break;
        case NormalizationMethod::RmsNorm:
            scale = 1.0 / std::sqrt(sum_of_squares / static_cast<double>(vector.size()) + normalization.epsilon);
            break;
    }
    for (float& value : vector) {
        value = static_cast<float>(value * scale);
    }
}

}  // namespace paddler
