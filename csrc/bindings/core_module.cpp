// Python bindings of the engine: declarations only, the logic lives in
// csrc/core. Every call that can wait on llama.cpp releases the GIL.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "engine.hpp"

namespace nb = nanobind;
using namespace nb::literals;
using namespace paddler;

NB_MODULE(_core, m) {
    m.doc() = "paddler's native inference engine (llama.cpp, slots, continuous batching)";

    nb::exception<ModelLoadError>(m, "ModelLoadError", PyExc_RuntimeError);

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
        .value("Done", EventKind::Done)
        .value("Error", EventKind::Error);

    nb::enum_<FinishReason>(m, "FinishReason")
        .value("None_", FinishReason::None)
        .value("EndOfGeneration", FinishReason::EndOfGeneration)
        .value("StopString", FinishReason::StopString)
        .value("MaxTokens", FinishReason::MaxTokens)
        .value("Cancelled", FinishReason::Cancelled);

    nb::enum_<ErrorKind>(m, "ErrorKind")
        .value("None_", ErrorKind::None)
        .value("InvalidRequest", ErrorKind::InvalidRequest)
        .value("PromptTooLong", ErrorKind::PromptTooLong)
        .value("ContextExhausted", ErrorKind::ContextExhausted)
        .value("KvCacheFull", ErrorKind::KvCacheFull)
        .value("DecodeFailed", ErrorKind::DecodeFailed)
        .value("ShuttingDown", ErrorKind::ShuttingDown);

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
        .def_rw("k_cache_type", &EngineParams::k_cache_type)
        .def_rw("v_cache_type", &EngineParams::v_cache_type)
        .def_rw("flash_attention", &EngineParams::flash_attention)
        .def_rw("use_mmap", &EngineParams::use_mmap);

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

    nb::class_<Request>(m, "Request")
        .def(nb::init<>())
        .def_rw("id", &Request::id)
        .def_rw("prompt_text", &Request::prompt_text)
        .def_rw("prompt_tokens", &Request::prompt_tokens)
        .def_rw("add_special", &Request::add_special)
        .def_rw("sampling", &Request::sampling);

    nb::class_<Usage>(m, "Usage")
        .def_ro("prompt_tokens", &Usage::prompt_tokens)
        .def_ro("cached_prompt_tokens", &Usage::cached_prompt_tokens)
        .def_ro("completion_tokens", &Usage::completion_tokens);

    nb::class_<Event>(m, "Event")
        .def_ro("request_id", &Event::request_id)
        .def_ro("kind", &Event::kind)
        .def_ro("token", &Event::token)
        .def_ro("text", &Event::text)
        .def_ro("finish_reason", &Event::finish_reason)
        .def_ro("usage", &Event::usage)
        .def_ro("error_kind", &Event::error_kind)
        .def_ro("message", &Event::message);

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
        .def_ro("slots", &EngineStatus::slots);

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
        .def_prop_ro("slots", &Engine::slots)
        .def_prop_ro("slot_context_size", &Engine::slot_context_size)
        .def_prop_ro("vocab_size", &Engine::vocab_size)
        .def_prop_ro("embedding_size", &Engine::embedding_size)
        .def("shutdown", &Engine::shutdown, nb::call_guard<nb::gil_scoped_release>());
}
