#include "multimodal_projector.hpp"

#include <cstdio>
#include <random>
#include <stdexcept>

#include "gguf.h"
#include "llama.h"
#include "llama_log.hpp"
#include "mtmd.h"
#include "text_stream.hpp"
#include "types.hpp"

namespace paddler {

void MtmdChunkDeleter::operator()(mtmd_input_chunk* chunk) const { mtmd_input_chunk_free(chunk); }
void MtmdChunksDeleter::operator()(mtmd_input_chunks* chunks) const { mtmd_input_chunks_free(chunks); }

namespace {

struct BitmapDeleter {
    void operator()(mtmd_bitmap* bitmap) const { mtmd_bitmap_free(bitmap); }
};

std::string random_marker() {
    std::random_device device;
    std::uniform_int_distribution<unsigned> hex(0, 15);
    std::string marker = "<__paddler_image_";
    for (int i = 0; i < 24; ++i) marker += "0123456789abcdef"[hex(device)];
    return marker + "__>";
}

std::string gguf_value_text(const gguf_context* gguf, std::int64_t key) {
    switch (gguf_get_kv_type(gguf, key)) {
        case GGUF_TYPE_UINT8: return std::to_string(gguf_get_val_u8(gguf, key));
        case GGUF_TYPE_INT8: return std::to_string(gguf_get_val_i8(gguf, key));
        case GGUF_TYPE_UINT16: return std::to_string(gguf_get_val_u16(gguf, key));
        case GGUF_TYPE_INT16: return std::to_string(gguf_get_val_i16(gguf, key));
        case GGUF_TYPE_UINT32: return std::to_string(gguf_get_val_u32(gguf, key));
        case GGUF_TYPE_INT32: return std::to_string(gguf_get_val_i32(gguf, key));
        case GGUF_TYPE_UINT64: return std::to_string(gguf_get_val_u64(gguf, key));
        case GGUF_TYPE_INT64: return std::to_string(gguf_get_val_i64(gguf, key));
        case GGUF_TYPE_FLOAT32: return std::to_string(gguf_get_val_f32(gguf, key));
        case GGUF_TYPE_FLOAT64: return std::to_string(gguf_get_val_f64(gguf, key));
        case GGUF_TYPE_BOOL: return gguf_get_val_bool(gguf, key) ? "true" : "false";
        case GGUF_TYPE_STRING: return sanitize_utf8(gguf_get_val_str(gguf, key));
        case GGUF_TYPE_ARRAY:
            return "[" + std::to_string(gguf_get_arr_n(gguf, key)) + " " +
                   gguf_type_name(gguf_get_arr_type(gguf, key)) + " values]";
        default: return "";
    }
}

std::map<std::string, std::string> read_gguf_metadata(const std::string& path) {
    std::map<std::string, std::string> metadata;
    gguf_init_params params{};
    params.no_alloc = true;
    params.ctx = nullptr;
    gguf_context* gguf = gguf_init_from_file(path.c_str(), params);
    if (gguf == nullptr) return metadata;
    for (std::int64_t key = 0; key < gguf_get_n_kv(gguf); ++key) {
        metadata.emplace("mmproj." + sanitize_utf8(gguf_get_key(gguf, key)), gguf_value_text(gguf, key));
    }
    gguf_free(gguf);
    return metadata;
}

}  // namespace

MultimodalProjector::MultimodalProjector(const std::string& path, const llama_model* text_model, bool use_gpu,
                                         std::int32_t threads)
    : marker_(random_marker()) {
    mtmd_context_params params = mtmd_context_params_default();
    params.use_gpu = use_gpu;
    params.print_timings = false;
    params.n_threads = threads;
    params.media_marker = marker_.c_str();
    // A warm-up encode sizes the compute buffers now, not at the first request.
    params.warmup = true;
    LogCapture capture;
    context_ = mtmd_init_from_file(path.c_str(), text_model, params);
    if (context_ == nullptr) {
        throw std::runtime_error("cannot load the multimodal projection " + path + ": " +
                                 capture.text("llama.cpp gave no reason"));
    }
    if (!mtmd_support_vision(context_)) {
        mtmd_free(context_);
        throw std::runtime_error("the multimodal projection " + path + " has no vision encoder (audio is not served)");
    }
    embedding_size_ = llama_model_n_embd_inp(text_model);
    metadata_ = read_gguf_metadata(path);
}

MultimodalProjector::~MultimodalProjector() { mtmd_free(context_); }

bool MultimodalProjector::uses_mrope() const { return mtmd_decode_use_mrope(context_); }

bool MultimodalProjector::non_causal(const mtmd_input_chunk* chunk) const {
    return mtmd_decode_use_non_causal(context_, chunk);
}

TokenizeOutcome MultimodalProjector::tokenize(const std::string& prompt, bool add_special,
                                              const std::vector<ImageInput>& images, ChunksPtr& out) const {
    std::vector<std::unique_ptr<mtmd_bitmap, BitmapDeleter>> bitmaps;
    std::vector<const mtmd_bitmap*> pointers;
    for (const auto& image : images) {
        // The caller checked the size; mtmd copies the pixels.
        bitmaps.emplace_back(
            mtmd_bitmap_init(image.width, image.height, reinterpret_cast<const unsigned char*>(image.pixels.data())));
        if (!bitmaps.back()) return TokenizeOutcome::ImageRejected;
        mtmd_bitmap_set_id(bitmaps.back().get(), image.id.c_str());
        pointers.push_back(bitmaps.back().get());
    }
    out.reset(mtmd_input_chunks_init());
    mtmd_input_text text{prompt.c_str(), prompt.size(), add_special, true};
    const std::int32_t result = mtmd_tokenize(context_, out.get(), &text, pointers.data(), pointers.size());
    if (result == 1) return TokenizeOutcome::MarkerCountMismatch;
    if (result != 0) return TokenizeOutcome::ImageRejected;
    return TokenizeOutcome::Ok;
}

std::vector<float> MultimodalProjector::encode(const mtmd_input_chunk* chunk) {
    LogCapture capture;
    if (mtmd_encode_chunk(context_, chunk) != 0) {
        throw std::runtime_error("the vision encoder failed: " + capture.text("llama.cpp gave no reason"));
    }
    const float* embeddings = mtmd_get_output_embd(context_);
    const std::size_t count = mtmd_input_chunk_get_n_tokens(chunk) * static_cast<std::size_t>(embedding_size_);
    return std::vector<float>(embeddings, embeddings + count);
}

}  // namespace paddler
