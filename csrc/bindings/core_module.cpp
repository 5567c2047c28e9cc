// Python bindings of the engine: declarations only, the logic lives in
// csrc/core. Every call that can wait on llama.cpp releases the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "backend_devices.hpp"
#include "chat_template_probe.hpp"
#include "cpu_backend.hpp"
#include "embedding_runner.hpp"
#include "engine.hpp"
#include "llama_log.hpp"
#include "matrix_kernels.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using namespace paddler;

NB_MODULE(_core, m) {
    m.doc() = "paddler's native inference engine (llama.cpp, slots, continuous batching)";

    nb::exception<ModelLoadError>(m, "ModelLoadError", PyExc_RuntimeError);
    auto embedding_error = nb::exception<EmbeddingError>(m, "EmbeddingError", PyExc_ValueError);
    nb::exception<EmbeddingInputError>(m, "EmbeddingInputError", embedding_error);
    nb::exception<ChatTemplateError>(m, "ChatTemplateError", PyExc_ValueError);

    nb::enum_<ToolChoice>(m, "ToolChoice")
        .value("Auto", ToolChoice::Auto)
        .value("Required", ToolChoice::Required)
        .value("NoTools", ToolChoice::None);

    nb::enum_<PoolingType>(m, "PoolingType")
        .value("Unspecified", PoolingType::Unspecified)
        .value("NoPooling", PoolingType::None)
        .value("Mean", PoolingType::Mean)
        .value("Cls", PoolingType::Cls)
        .value("Last", PoolingType::Last)
        .value("Rank", PoolingType::Rank);

    nb::enum_<GrammarKind>(m, "GrammarKind")
        .value("NoGrammar", GrammarKind::None)
        .value("Gbnf", GrammarKind::Gbnf)
        .value("JsonSchema", GrammarKind::JsonSchema);

    nb::enum_<TokenKind>(m, "TokenKind")
        .value("Content", TokenKind::Content)
        .value("Reasoning", TokenKind::Reasoning)
        .value("ToolCall", TokenKind::ToolCall)
        .value("Undeterminable", TokenKind::Undeterminable);

    nb::enum_<NormalizationMethod>(m, "NormalizationMethod")
        .value("NoNormalization", NormalizationMethod::None)
        .value("L2", NormalizationMethod::L2)
        .value("RmsNorm", NormalizationMethod::RmsNorm);

    nb::class_<Normalization>(m, "Normalization")
        .def(nb::init<>())
        .def_rw("method", &Normalization::method)
        .def_rw("epsilon", &Normalization::epsilon);

    nb::class_<EmbeddingInput>(m, "EmbeddingInput")
        .def(nb::init<>())
        .def_rw("id", &EmbeddingInput::id)
        .def_rw("content", &EmbeddingInput::content);

    nb::class_<EmbeddingResult>(m, "EmbeddingResult")
        .def_ro("id", &EmbeddingResult::id)
        .def_ro("embedding", &EmbeddingResult::embedding)
        .def_ro("dimension", &EmbeddingResult::dimension)
        .def_ro("token_count", &EmbeddingResult::token_count);

    nb::class_<ToolCall>(m, "ToolCall")
        .def_ro("id", &ToolCall::id)
        .def_ro("name", &ToolCall::name)
        .def_ro("arguments", &ToolCall::arguments);

    nb::enum_<KvCacheType>(m, "KvCacheType")
        .value("F32", KvCacheType::F32)
        .value("F16", KvCacheType::F16)
        .value("BF16", KvCacheType::BF16)
        .value("Q8_0", KvCacheType::Q8_0)
        .value("Q4_0", KvCacheType::Q4_0)
        .value("Q4_1", KvCacheType::Q4_1)
        .value("Q5_0", KvCacheType::Q5_0)
        .value("Q5_1", KvCacheType::Q5_1);

    nb::enum_<FlashAttention>(m, "FlashAttention")
        .value("Auto", FlashAttention::Auto)
        .value("Enabled", FlashAttention::Enabled)
        .value("Disabled", FlashAttention::Disabled);

    nb::enum_<EventKind>(m, "EventKind")
        .value("Token", EventKind::Token)
        .value("ToolCalls", EventKind::ToolCalls)
        .value("Done", EventKind::Done)
        .value("Error", EventKind::Error);

    nb::enum_<FinishReason>(m, "FinishReason")
        .value("NotFinished", FinishReason::None)
        .value("EndOfGeneration", FinishReason::EndOfGeneration)
        .value("StopString", FinishReason::StopString)
        .value("MaxTokens", FinishReason::MaxTokens)
        .value("Cancelled", FinishReason::Cancelled);

    nb::enum_<ErrorKind>(m, "ErrorKind")
        .value("NoError", ErrorKind::None)
        .value("InvalidRequest", ErrorKind::InvalidRequest)
        .value("PromptTooLong", ErrorKind::PromptTooLong)
        .value("ContextExhausted", ErrorKind::ContextExhausted)
        .value("KvCacheFull", ErrorKind::KvCacheFull)
        .value("DecodeFailed", ErrorKind::DecodeFailed)
        .value("ShuttingDown", ErrorKind::ShuttingDown)
        .value("ChatTemplateError", ErrorKind::ChatTemplateError)
        .value("GrammarSyntaxError", ErrorKind::GrammarSyntaxError)
        .value("GrammarIncompatibleWithThinking", ErrorKind::GrammarIncompatibleWithThinking)
        .value("GrammarRejectedModelOutput", ErrorKind::GrammarRejectedModelOutput)
        .value("SamplerError", ErrorKind::SamplerError)
        .value("MultimodalNotSupported", ErrorKind::MultimodalNotSupported)
        .value("ToolCallParseFailed", ErrorKind::ToolCallParseFailed)
        .value("UnrecognizedToolCallFormat", ErrorKind::UnrecognizedToolCallFormat)
        .value("ImageDecodingFailed", ErrorKind::ImageDecodingFailed)
        .value("ImageExceedsBatchSize", ErrorKind::ImageExceedsBatchSize);

    nb::enum_<SlotState>(m, "SlotState")
        .value("Idle", SlotState::Idle)
        .value("Prefilling", SlotState::Prefilling)
        .value("Generating", SlotState::Generating);

    nb::class_<EngineParams>(m, "EngineParams")
        .def(nb::init<>())
        .def_rw("context_size", &EngineParams::context_size)
        .def_rw("slots", &EngineParams::slots)
        .def_rw("n_batch", &EngineParams::n_batch)
        .def_rw("n_ubatch", &EngineParams::n_ubatch)
        .def_rw("n_gpu_layers", &EngineParams::n_gpu_layers)
        .def_rw("threads", &EngineParams::threads)
        .def_rw("threads_batch", &EngineParams::threads_batch)
        .def_rw("thread_poll", &EngineParams::thread_poll)
        .def_rw("k_cache_type", &EngineParams::k_cache_type)
        .def_rw("v_cache_type", &EngineParams::v_cache_type)
        .def_rw("flash_attention", &EngineParams::flash_attention)
        .def_rw("use_mmap", &EngineParams::use_mmap)
        .def_rw("chat_template_override", &EngineParams::chat_template_override)
        .def_rw("chat_template_refusal", &EngineParams::chat_template_refusal)
        .def_rw("enable_embeddings", &EngineParams::enable_embeddings)
        .def_rw("embedding_batch_size", &EngineParams::embedding_batch_size)
        .def_rw("pooling_type", &EngineParams::pooling_type)
        .def_rw("multimodal_projection_path", &EngineParams::multimodal_projection_path)
        .def_rw("deterministic", &EngineParams::deterministic);

    nb::class_<SamplingParams>(m, "SamplingParams")
        .def(nb::init<>())
        .def_rw("temperature", &SamplingParams::temperature)
        .def_rw("top_k", &SamplingParams::top_k)
        .def_rw("top_p", &SamplingParams::top_p)
        .def_rw("min_p", &SamplingParams::min_p)
        .def_rw("repeat_penalty", &SamplingParams::repeat_penalty)
        .def_rw("presence_penalty", &SamplingParams::presence_penalty)
        .def_rw("frequency_penalty", &SamplingParams::frequency_penalty)
        .def_rw("penalty_last_n", &SamplingParams::penalty_last_n)
        .def_rw("seed", &SamplingParams::seed)
        .def_rw("max_tokens", &SamplingParams::max_tokens)
        .def_rw("stop", &SamplingParams::stop)
        .def_rw("ignore_eos", &SamplingParams::ignore_eos);

    // Pixels are bytes (RGB, row by row), copied once into the request.
    nb::class_<ImageInput>(m, "ImageInput")
        .def(
            "__init__",
            [](ImageInput* self, std::uint32_t width, std::uint32_t height, nb::bytes pixels, std::string id) {
                new (self) ImageInput{width, height, std::string(pixels.c_str(), pixels.size()), std::move(id)};
            },
            "width"_a, "height"_a, "pixels"_a, "id"_a)
        .def_ro("width", &ImageInput::width)
        .def_ro("height", &ImageInput::height)
        .def_ro("id", &ImageInput::id);

    nb::class_<Request>(m, "Request")
        .def(nb::init<>())
        .def_rw("id", &Request::id)
        .def_rw("conversation_json", &Request::conversation_json)
        .def_rw("tools_json", &Request::tools_json)
        .def_rw("tool_choice", &Request::tool_choice)
        .def_rw("add_generation_prompt", &Request::add_generation_prompt)
        .def_rw("enable_thinking", &Request::enable_thinking)
        .def_rw("grammar_kind", &Request::grammar_kind)
        .def_rw("grammar", &Request::grammar)
        .def_rw("grammar_root", &Request::grammar_root)
        .def_rw("prompt_text", &Request::prompt_text)
        .def_rw("prompt_tokens", &Request::prompt_tokens)
        .def_rw("add_special", &Request::add_special)
        .def_rw("sampling", &Request::sampling)
        .def_rw("images", &Request::images);

    nb::class_<Usage>(m, "Usage")
        .def_ro("prompt_tokens", &Usage::prompt_tokens)
        .def_ro("cached_prompt_tokens", &Usage::cached_prompt_tokens)
        .def_ro("completion_tokens", &Usage::completion_tokens)
        .def_ro("content_tokens", &Usage::content_tokens)
        .def_ro("reasoning_tokens", &Usage::reasoning_tokens)
        .def_ro("tool_call_tokens", &Usage::tool_call_tokens)
        .def_ro("undeterminable_tokens", &Usage::undeterminable_tokens)
        .def_ro("input_image_tokens", &Usage::input_image_tokens);

    nb::class_<Event>(m, "Event")
        .def_ro("request_id", &Event::request_id)
        .def_ro("kind", &Event::kind)
        .def_ro("token", &Event::token)
        .def_ro("token_kind", &Event::token_kind)
        .def_ro("tool_calls", &Event::tool_calls)
        .def_ro("text", &Event::text)
        .def_ro("finish_reason", &Event::finish_reason)
        .def_ro("usage", &Event::usage)
        .def_ro("error_kind", &Event::error_kind)
        .def_ro("message", &Event::message)
        .def_ro("oversized_image_tokens", &Event::oversized_image_tokens)
        .def_ro("oversized_image_batch_limit", &Event::oversized_image_batch_limit);

    nb::class_<SlotStatus>(m, "SlotStatus")
        .def_ro("index", &SlotStatus::index)
        .def_ro("state", &SlotStatus::state)
        .def_ro("request_id", &SlotStatus::request_id)
        .def_ro("cached_tokens", &SlotStatus::cached_tokens);

    nb::class_<EngineStatus>(m, "EngineStatus")
        .def_ro("slots_total", &EngineStatus::slots_total)
        .def_ro("slots_processing", &EngineStatus::slots_processing)
        .def_ro("requests_waiting", &EngineStatus::requests_waiting)
        .def_ro("steps", &EngineStatus::steps)
        .def_ro("images_encoded_alone", &EngineStatus::images_encoded_alone)
        .def_ro("images_encoded_beside", &EngineStatus::images_encoded_beside)
        .def_ro("slots", &EngineStatus::slots);

    nb::enum_<DeviceKind>(m, "DeviceKind")
        .value("Cpu", DeviceKind::Cpu)
        .value("Gpu", DeviceKind::Gpu)
        .value("IntegratedGpu", DeviceKind::IntegratedGpu)
        .value("Accelerator", DeviceKind::Accelerator)
        .value("Meta", DeviceKind::Meta);

    nb::class_<BackendDevice>(m, "BackendDevice")
        .def_ro("name", &BackendDevice::name)
        .def_ro("description", &BackendDevice::description)
        .def_ro("kind", &BackendDevice::kind)
        .def_ro("memory_free", &BackendDevice::memory_free)
        .def_ro("memory_total", &BackendDevice::memory_total);

    // Which matrix kernels the CPU backend has (matrix_kernels.hpp).
    m.def("tinyblas_built", &paddler::matrix_kernels::tinyblas_built);
    m.def("deterministic_kernels_available", &paddler::matrix_kernels::choosable);
    m.def("tinyblas_products", &paddler::matrix_kernels::tinyblas_products);

    // Asking a GPU backend for its free memory can wait on the driver.
    m.def("backend_devices", &backend_devices, nb::call_guard<nb::gil_scoped_release>());

    // Which CPU backend runs (cpu_backend.hpp): one "built-in" entry for a
    // source build; in a wheel, every variant shipped, scored on this CPU.
    nb::class_<CpuVariantChoice>(m, "CpuVariantChoice")
        .def_ro("name", &CpuVariantChoice::name)
        .def_ro("score", &CpuVariantChoice::score)
        .def_ro("refused", &CpuVariantChoice::refused)
        .def_ro("chosen", &CpuVariantChoice::chosen);
    m.def(
        "cpu_variant_choices",
        [] {
            init_llama_once();
            return cpu_variant_choices();
        },
        nb::call_guard<nb::gil_scoped_release>());
    // Forks a child that executes an AMX instruction the first time.
    m.def("amx_usable", &amx_usable, nb::call_guard<nb::gil_scoped_release>());

    nb::class_<ChatTemplateProbeReport>(m, "ChatTemplateProbeReport")
        .def_ro("compile_error", &ChatTemplateProbeReport::compile_error)
        .def_ro("conversations", &ChatTemplateProbeReport::conversations)
        .def_ro("failures", &ChatTemplateProbeReport::failures);
    m.attr("CHAT_TEMPLATE_PROBE_OUT_OF_MEMORY_EXIT") = kChatTemplateProbeOutOfMemoryExit;
    // Only in a process of its own: see chat_template_probe.hpp.
    m.def("probe_chat_template", &probe_chat_template, "model_path"_a, "chat_template_override"_a,
          nb::call_guard<nb::gil_scoped_release>());

    nb::class_<Engine>(m, "Engine")
        .def(nb::init<const std::string&, const EngineParams&>(), "model_path"_a, "params"_a,
             nb::call_guard<nb::gil_scoped_release>())
        .def("submit", &Engine::submit, "request"_a, nb::call_guard<nb::gil_scoped_release>())
        .def("cancel", &Engine::cancel, "request_id"_a, nb::call_guard<nb::gil_scoped_release>())
        .def("drain_events", &Engine::drain_events, "max_events"_a)
        .def("event_fd", &Engine::event_fd)
        .def("status", &Engine::status)
        .def("tokenize", &Engine::tokenize, "text"_a, "add_special"_a = false, "parse_special"_a = true,
             nb::call_guard<nb::gil_scoped_release>())
        .def("detokenize", &Engine::detokenize, "tokens"_a, nb::call_guard<nb::gil_scoped_release>())
        .def("metadata", &Engine::metadata)
        .def("chat_template", &Engine::chat_template)
        .def("chat_template_error", &Engine::chat_template_error)
        .def("render_conversation", &Engine::render_conversation, "request"_a,
             nb::call_guard<nb::gil_scoped_release>())
        .def("embed", &Engine::embed, "inputs"_a, "normalization"_a, nb::call_guard<nb::gil_scoped_release>())
        .def("embedding_token_counts", &Engine::embedding_token_counts, "inputs"_a,
             nb::call_guard<nb::gil_scoped_release>())
        .def_prop_ro("embedding_sequences_per_batch", &Engine::embedding_sequences_per_batch)
        .def_prop_ro("embeddings_enabled", &Engine::embeddings_enabled)
        .def_prop_ro("multimodal", &Engine::multimodal)
        .def_prop_ro("pooling_type", &Engine::pooling_type)
        .def_prop_ro("slots", &Engine::slots)
        .def_prop_ro("flash_attention_summary", &Engine::flash_attention_summary)
        .def_prop_ro("slot_context_size", &Engine::slot_context_size)
        .def_prop_ro("vocab_size", &Engine::vocab_size)
        .def_prop_ro("embedding_size", &Engine::embedding_size)
        .def("shutdown", &Engine::shutdown, nb::call_guard<nb::gil_scoped_release>());
}
