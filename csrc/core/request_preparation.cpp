#include "request_preparation.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <utility>

#include "common.h"
#include "json-schema-to-grammar.h"
#include "json.h"
#include "large_stack.hpp"
#include "llama.h"
#include "llama_log.hpp"
#include "mtmd.h"

namespace paddler {

struct RequestPreparer::Rendered {
    std::string prompt;
    common_chat_params chat;
    bool tools_offered = false;
    std::size_t images = 0;  // image parts, each a marker in the prompt
};

namespace {

PreparationFailure failure(ErrorKind kind, std::string message, std::size_t prompt_tokens = 0) {
    return PreparationFailure{kind, std::move(message), static_cast<std::int32_t>(prompt_tokens)};
}

// Image and audio parts are refused by name before the generic parser sees
// them, so the caller learns it is multimodality that is missing.
std::optional<std::string> multimodal_part(const common_json& messages) {
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const common_json& message = messages.at(i);
        if (!message.is_object() || !message.contains("content")) continue;
        const common_json& content = message.at("content");
        if (!content.is_array()) continue;
        for (std::size_t k = 0; k < content.size(); ++k) {
            const common_json& part = content.at(k);
            if (!part.is_object() || !part.contains("type") || !part.at("type").is_string()) continue;
            const std::string type = part.at("type");
            if (type != "text") return type;
        }
    }
    return std::nullopt;
}

// With a projector, each image_url part becomes the projector's marker (the
// common library joins marker parts without adding newlines around them).
// Returns the number of images, or the first part type that is not served.
std::variant<std::size_t, std::string> mark_images(common_json& messages, const std::string& marker) {
    std::size_t images = 0;
    for (auto& message : messages) {
        if (!message.is_object() || !message.contains("content")) continue;
        common_json& content = message.at("content");
        if (!content.is_array()) continue;
        for (auto& part : content) {
            if (!part.is_object() || !part.contains("type") || !part.at("type").is_string()) continue;
            const std::string type = part.at("type");
            if (type == "image_url") {
                part = common_json{{"type", "media_marker"}, {"text", marker}};
                images += 1;
            } else if (type != "text") {
                return type;
            }
        }
    }
    return images;
}

// Placeholder ids of an image chunk's cache cells: negative (no token has
// such an id) and a function of the image's id, so the same image in the
// same place of a prompt compares equal and a different one does not.
std::uint64_t mix(std::uint64_t value) {
    value += 0x9e3779b97f4a7c15ULL;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
}

void append_image_placeholders(std::vector<std::int32_t>& tokens, const char* id, std::size_t ordinal,
                               std::size_t count) {
    std::uint64_t seed = 0xcbf29ce484222325ULL;  // FNV-1a over the id
    for (const char* c = id != nullptr ? id : ""; *c != '\0'; ++c) {
        seed = (seed ^ static_cast<unsigned char>(*c)) * 0x100000001b3ULL;
    }
    seed = mix(seed ^ ordinal);
    for (std::size_t i = 0; i < count; ++i) {
        tokens.push_back(-1 - static_cast<std::int32_t>(mix(seed + i) & 0x3fffffff));
    }
}

bool starts_with(const std::string& text, const std::string& prefix) {
    return !prefix.empty() && text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

RequestPreparer::RequestPreparer(const llama_model* model, const std::string& chat_template_override,
                                 std::uint32_t slot_context_size, const std::string& chat_template_refusal,
                                 MultimodalPreparation multimodal)
    : model_(model), vocab_(llama_model_get_vocab(model)), slot_context_size_(slot_context_size),
      multimodal_(multimodal) {
    const std::int32_t n_vocab = llama_vocab_n_tokens(vocab_);
    for (llama_token token = 0; token < n_vocab; ++token) {
        if (llama_vocab_is_eog(vocab_, token)) {
            end_of_generation_bias_.push_back({token, -INFINITY});
        }
    }
    if (!chat_template_refusal.empty()) {
        // Compiling it is what would crash: it is never handed to llama.cpp.
        chat_template_error_ = chat_template_refusal;
        return;
    }
    // Without a template of its own the common library would fall back to
    // ChatML; a silent guess at a model's format is worse than a clear error.
    if (chat_template_override.empty() && llama_model_chat_template(model, nullptr) == nullptr) {
        chat_template_error_ = "the model has no chat template; set a chat template override";
        return;
    }
    try {
        // Compiling parses (recursively) and analyses the template by
        // rendering it: both on the large stack.
        run_on_large_stack(kChatTemplateStackBytes, [&] {
            templates_ = common_chat_templates_init(model, chat_template_override);
            supports_thinking_ = common_chat_templates_support_enable_thinking(templates_.get());
        });
    } catch (const std::exception& error) {
        templates_.reset();
        chat_template_error_ = std::string("the chat template does not compile: ") + error.what();
    }
}

std::string RequestPreparer::chat_template_source() const {
    return templates_ ? common_chat_templates_source(templates_.get()) : std::string();
}

std::variant<RequestPreparer::Rendered, PreparationFailure> RequestPreparer::render_conversation(
    const Request& request) const {
    if (!templates_) {
        return failure(ErrorKind::ChatTemplateError, chat_template_error_);
    }
    common_chat_templates_inputs inputs;
    std::size_t rendered_images = 0;
    try {
        common_json messages = common_json::parse(request.conversation_json);
        std::size_t images = 0;
        if (multimodal_.projector == nullptr) {
            if (auto type = multimodal_part(messages)) {
                return failure(ErrorKind::MultimodalNotSupported,
                               "content parts of type \"" + *type +
                                   "\" need a multimodal model; this engine serves text");
            }
        } else {
            auto marked = mark_images(messages, multimodal_.projector->marker());
            if (auto* type = std::get_if<std::string>(&marked)) {
                return failure(ErrorKind::InvalidRequest, "content parts of type \"" + *type +
                                                              "\" are not supported; this model takes text and "
                                                              "image_url parts");
            }
            images = std::get<std::size_t>(marked);
        }
        rendered_images = images;
        inputs.messages = common_chat_msgs_parse_oaicompat(messages);
        if (!request.tools_json.empty()) {
            inputs.tools = common_chat_tools_parse_oaicompat(common_json::parse(request.tools_json));
        }
    } catch (const std::exception& error) {
        return failure(ErrorKind::InvalidRequest, std::string("invalid conversation: ") + error.what());
    }
    if (inputs.messages.empty()) {
        return failure(ErrorKind::InvalidRequest, "the conversation has no messages");
    }
    const bool has_grammar = request.grammar_kind != GrammarKind::None;
    if (has_grammar && request.enable_thinking && supports_thinking_) {
        return failure(ErrorKind::GrammarIncompatibleWithThinking,
                       "this model thinks before it answers and a grammar would constrain the thinking too; "
                       "disable thinking to use a grammar");
    }
    inputs.add_generation_prompt = request.add_generation_prompt;
    inputs.enable_thinking = request.enable_thinking;
    inputs.use_jinja = true;
    inputs.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
    inputs.parallel_tool_calls = true;
    switch (request.tool_choice) {
        case ToolChoice::Auto: inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_AUTO; break;
        case ToolChoice::Required: inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_REQUIRED; break;
        case ToolChoice::None: inputs.tool_choice = COMMON_CHAT_TOOL_CHOICE_NONE; break;
    }
    // With tools, a caller's grammar replaces the tool-call grammar (tool
    // calls in the output are still parsed); without, the template folds it
    // into its own output format.
    if (inputs.tools.empty() && request.grammar_kind == GrammarKind::JsonSchema) {
        inputs.json_schema = request.grammar;
    } else if (inputs.tools.empty() && request.grammar_kind == GrammarKind::Gbnf) {
        inputs.grammar = request.grammar;
    }
    Rendered rendered;
    rendered.images = rendered_images;
    try {
        run_on_large_stack(kChatTemplateStackBytes,
                           [&] { rendered.chat = common_chat_templates_apply(templates_.get(), inputs); });
    } catch (const std::exception& error) {
        const std::string what = error.what();
        // A JSON schema the converter cannot handle surfaces from apply too.
        const ErrorKind kind = request.grammar_kind == GrammarKind::JsonSchema &&
                                       what.find("schema") != std::string::npos
                                   ? ErrorKind::GrammarSyntaxError
                                   : ErrorKind::ChatTemplateError;
        return failure(kind, (kind == ErrorKind::ChatTemplateError ? "the chat template failed to render: "
                                                                   : "invalid JSON schema: ") +
                                 what);
    }
    rendered.prompt = rendered.chat.prompt;
    rendered.tools_offered = !inputs.tools.empty() && request.tool_choice != ToolChoice::None;
    return rendered;
}

std::variant<std::string, PreparationFailure> RequestPreparer::render_prompt(const Request& request) const {
    auto rendered = render_conversation(request);
    if (auto* failed = std::get_if<PreparationFailure>(&rendered)) {
        return std::move(*failed);
    }
    return std::move(std::get<Rendered>(rendered).prompt);
}

std::optional<PreparationFailure> RequestPreparer::raw_grammar(const Request& request,
                                                               common_params_sampling& sampling) const {
    if (request.grammar_kind == GrammarKind::Gbnf) {
        sampling.grammar = common_grammar(COMMON_GRAMMAR_TYPE_USER, request.grammar);
        return std::nullopt;
    }
    if (request.grammar_kind == GrammarKind::JsonSchema) {
        try {
            sampling.grammar =
                common_grammar(COMMON_GRAMMAR_TYPE_OUTPUT_FORMAT, json_schema_to_grammar(common_json::parse(request.grammar)));
        } catch (const std::exception& error) {
            return failure(ErrorKind::GrammarSyntaxError, std::string("invalid JSON schema: ") + error.what());
        }
    }
    return std::nullopt;
}

Preparation RequestPreparer::prepare(Request request) const {
    const SamplingParams& sp = request.sampling;
    if (sp.max_tokens < 0) {
        return failure(ErrorKind::InvalidRequest, "max_tokens must not be negative");
    }
    if (sp.ignore_eos && request.grammar_kind != GrammarKind::None) {
        // A finished grammar allows only an end-of-generation token.
        return failure(ErrorKind::InvalidRequest, "ignore_eos cannot be combined with a grammar");
    }
    if (request.grammar_kind == GrammarKind::Gbnf && request.grammar_root != "root") {
        // The sampler always starts at "root"; alias the requested start rule.
        if (request.grammar_root.empty()) {
            return failure(ErrorKind::GrammarSyntaxError, "the grammar's root rule name is empty");
        }
        request.grammar += "\nroot ::= " + request.grammar_root + "\n";
    }

    PreparedRequest prepared;
    prepared.id = request.id;
    prepared.max_tokens = sp.max_tokens;
    prepared.stop = sp.stop;
    prepared.has_grammar = request.grammar_kind != GrammarKind::None;
    prepared.skip_end_of_generation = sp.ignore_eos;

    common_params_sampling sampling;
    sampling.seed = sp.seed;
    sampling.temp = sp.temperature;
    sampling.top_k = sp.top_k;
    sampling.top_p = sp.top_p;
    sampling.min_p = sp.min_p;
    sampling.penalty_repeat = sp.repeat_penalty;
    sampling.penalty_present = sp.presence_penalty;
    sampling.penalty_freq = sp.frequency_penalty;
    sampling.penalty_last_n = sp.penalty_last_n;
    sampling.no_perf = true;
    if (sp.ignore_eos) {
        sampling.logit_bias = end_of_generation_bias_;
    }
    const bool penalized = sp.repeat_penalty != 1.0f || sp.presence_penalty != 0.0f || sp.frequency_penalty != 0.0f;
    if (sp.temperature <= 0.0f) {
        // Greedy: the temperature sampler keeps only the most likely token, so
        // the filters before it (top-k over the whole vocabulary, top-p,
        // min-p...) cannot change the outcome. Penalties can, so they stay.
        sampling.samplers = {COMMON_SAMPLER_TYPE_TEMPERATURE};
        if (penalized) {
            sampling.samplers.insert(sampling.samplers.begin(), COMMON_SAMPLER_TYPE_PENALTIES);
        }
    }

    bool add_special = request.add_special;
    std::string prompt_text = std::move(request.prompt_text);
    if (!request.conversation_json.empty()) {
        auto rendered_or_failure = render_conversation(request);
        if (auto* failed = std::get_if<PreparationFailure>(&rendered_or_failure)) {
            return std::move(*failed);
        }
        auto& rendered = std::get<Rendered>(rendered_or_failure);
        if (rendered.images != request.images.size()) {
            return failure(ErrorKind::InvalidRequest, "the conversation has " + std::to_string(rendered.images) +
                                                          " image parts and " + std::to_string(request.images.size()) +
                                                          " decoded images");
        }
        prompt_text = std::move(rendered.prompt);
        request.prompt_tokens.clear();
        // The vocabulary may want a BOS the template already wrote.
        const llama_token bos = llama_vocab_bos(vocab_);
        add_special = llama_vocab_get_add_bos(vocab_) &&
                      !(bos != LLAMA_TOKEN_NULL && starts_with(prompt_text, common_token_to_piece(vocab_, bos, true)));
        const common_chat_params& chat = rendered.chat;
        for (const auto& stop : chat.additional_stops) {
            prepared.stop.push_back(stop);
        }
        for (const auto& text : chat.preserved_tokens) {
            const auto ids = common_tokenize(vocab_, text, false, true);
            if (ids.size() == 1) prepared.preserved_tokens.insert(ids[0]);
        }
        const bool caller_grammar_replaces_tools = rendered.tools_offered && request.grammar_kind != GrammarKind::None;
        if (!chat.grammar.empty() && !caller_grammar_replaces_tools) {
            const common_grammar_type type = rendered.tools_offered ? COMMON_GRAMMAR_TYPE_TOOL_CALLS
                                             : request.grammar_kind == GrammarKind::Gbnf ? COMMON_GRAMMAR_TYPE_USER
                                                                                         : COMMON_GRAMMAR_TYPE_OUTPUT_FORMAT;
            sampling.grammar = common_grammar(type, chat.grammar);
            sampling.grammar_lazy = chat.grammar_lazy;
            for (const auto& trigger : chat.grammar_triggers) {
                common_grammar_trigger converted = trigger;
                // A trigger word that is one preserved token is matched as that token.
                if (trigger.type == COMMON_GRAMMAR_TRIGGER_TYPE_WORD) {
                    const auto ids = common_tokenize(vocab_, trigger.value, false, true);
                    if (ids.size() == 1 && prepared.preserved_tokens.count(ids[0]) != 0) {
                        converted.type = COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN;
                        converted.token = ids[0];
                    }
                }
                sampling.grammar_triggers.push_back(std::move(converted));
            }
            sampling.generation_prompt = chat.generation_prompt;
        } else if (request.grammar_kind != GrammarKind::None) {
            // The template did not fold the grammar in (content-only formats),
            // or it replaces the tool-call grammar.
            if (auto failed = raw_grammar(request, sampling)) return std::move(*failed);
        }
        sampling.preserved_tokens = std::set<llama_token>(prepared.preserved_tokens.begin(),
                                                          prepared.preserved_tokens.end());
        common_chat_parser_params parser(chat);
        parser.reasoning_format = COMMON_REASONING_FORMAT_DEEPSEEK;
        if (!chat.parser.empty()) {
            try {
                parser.parser.load(chat.parser);
            } catch (const std::exception& error) {
                return failure(ErrorKind::ChatTemplateError, std::string("cannot load the output parser: ") + error.what());
            }
        }
        prepared.classifier.emplace(std::move(parser), rendered.tools_offered);
    } else if (auto failed = raw_grammar(request, sampling)) {
        return std::move(*failed);
    }

    if (!request.images.empty()) {
        if (request.conversation_json.empty()) {
            return failure(ErrorKind::InvalidRequest, "images come only in conversations");
        }
        if (auto failed = tokenize_with_images(request, prompt_text, add_special, prepared)) {
            return std::move(*failed);
        }
        request.prompt_tokens = std::move(prepared.prompt_tokens);
    } else if (request.prompt_tokens.empty()) {
        request.prompt_tokens = common_tokenize(vocab_, prompt_text, add_special, true);
    } else {
        const std::int32_t n_vocab = llama_vocab_n_tokens(vocab_);
        for (const auto token : request.prompt_tokens) {
            if (token < 0 || token >= n_vocab) {
                return failure(ErrorKind::InvalidRequest, "token id " + std::to_string(token) +
                                                              " is outside the vocabulary (0.." +
                                                              std::to_string(n_vocab - 1) + ")");
            }
        }
    }
    const std::size_t prompt_size = request.prompt_tokens.size();
    if (prompt_size == 0) {
        return failure(ErrorKind::InvalidRequest, "the prompt is empty");
    }
    if (prompt_size >= slot_context_size_) {
        return failure(ErrorKind::PromptTooLong,
                       "the prompt has " + std::to_string(prompt_size) + " tokens; a slot's context holds " +
                           std::to_string(slot_context_size_) + " tokens including at least one to generate",
                       prompt_size);
    }

    {
        LogCapture capture;
        try {
            prepared.sampler.reset(common_sampler_init(model_, sampling));
        } catch (const std::exception& error) {
            const ErrorKind kind = prepared.has_grammar || !sampling.grammar.empty() ? ErrorKind::GrammarSyntaxError
                                                                                     : ErrorKind::SamplerError;
            return failure(kind, capture.text(error.what()), prompt_size);
        }
        if (!prepared.sampler) {
            return failure(prepared.has_grammar ? ErrorKind::GrammarSyntaxError : ErrorKind::SamplerError,
                           capture.text("llama.cpp refused the sampling parameters"), prompt_size);
        }
    }
    if (penalized) {
        // Penalties look at the prompt too, as llama-server does.
        for (const auto token : request.prompt_tokens) {
            if (token >= 0) common_sampler_accept(prepared.sampler.get(), token, false);  // not image placeholders
        }
    }
    prepared.plain_argmax = sp.temperature <= 0.0f && !penalized && sampling.grammar.empty();
    prepared.prompt_tokens = std::move(request.prompt_tokens);
    return prepared;
}

std::optional<PreparationFailure> RequestPreparer::tokenize_with_images(const Request& request,
                                                                        const std::string& prompt, bool add_special,
                                                                        PreparedRequest& prepared) const {
    const MultimodalProjector* projector = multimodal_.projector;
    if (projector == nullptr) {
        return failure(ErrorKind::MultimodalNotSupported, "images need a multimodal model; this engine serves text");
    }
    for (std::size_t i = 0; i < request.images.size(); ++i) {
        const ImageInput& image = request.images[i];
        const std::uint64_t expected = std::uint64_t{image.width} * image.height * 3;
        if (image.width == 0 || image.height == 0 || image.pixels.size() != expected) {
            return failure(ErrorKind::InvalidRequest, "image " + std::to_string(i) + " is " +
                                                          std::to_string(image.width) + "x" +
                                                          std::to_string(image.height) + " pixels but carries " +
                                                          std::to_string(image.pixels.size()) + " bytes, not 3 a pixel");
        }
    }
    ChunksPtr chunks;
    switch (projector->tokenize(prompt, add_special, request.images, chunks)) {
        case TokenizeOutcome::Ok: break;
        case TokenizeOutcome::MarkerCountMismatch:
            return failure(ErrorKind::InvalidRequest, "the rendered conversation does not hold one marker per image");
        case TokenizeOutcome::ImageRejected:
            return failure(ErrorKind::ImageDecodingFailed, "the multimodal projector could not preprocess an image");
    }
    std::vector<std::int32_t>& tokens = prepared.prompt_tokens;
    std::map<std::string, std::size_t> chunks_of_image;
    for (std::size_t i = 0; i < mtmd_input_chunks_size(chunks.get()); ++i) {
        const mtmd_input_chunk* chunk = mtmd_input_chunks_get(chunks.get(), i);
        const auto type = mtmd_input_chunk_get_type(chunk);
        if (type == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            std::size_t count = 0;
            const llama_token* text = mtmd_input_chunk_get_tokens_text(chunk, &count);
            tokens.insert(tokens.end(), text, text + count);
            continue;
        }
        if (type != MTMD_INPUT_CHUNK_TYPE_IMAGE) {
            return failure(ErrorKind::InvalidRequest, "only images are served, not audio");
        }
        const auto n_tokens = static_cast<std::uint32_t>(mtmd_input_chunk_get_n_tokens(chunk));
        const bool non_causal = projector->non_causal(chunk);
        // An image chunk is decoded in one llama_decode (as Paddler does), and
        // in one micro-batch when its tokens attend to each other both ways.
        const std::uint32_t limit = non_causal ? std::min(multimodal_.n_batch, multimodal_.n_ubatch) : multimodal_.n_batch;
        if (n_tokens > limit) {
            PreparationFailure oversized = failure(
                ErrorKind::ImageExceedsBatchSize,
                "the image takes " + std::to_string(n_tokens) + " tokens, more than the " + std::to_string(limit) +
                    " one batch holds (n_batch" + (non_causal ? ", n_ubatch" : "") + ")");
            oversized.oversized_image_tokens = n_tokens;
            oversized.oversized_image_batch_limit = limit;
            return oversized;
        }
        const char* id = mtmd_input_chunk_get_id(chunk);
        const std::size_t ordinal = chunks_of_image[id != nullptr ? id : ""]++;
        PreparedImage image;
        image.start = tokens.size();
        image.n_tokens = n_tokens;
        image.non_causal = non_causal;
        image.chunk = SharedChunk(mtmd_input_chunk_copy(chunk), MtmdChunkDeleter{});
        append_image_placeholders(tokens, id, ordinal, n_tokens);
        prepared.image_tokens += static_cast<std::int32_t>(n_tokens);
        prepared.images.push_back(std::move(image));
    }
    if (!prepared.images.empty() && prepared.images.back().start + prepared.images.back().n_tokens == tokens.size()) {
        // Sampling reads the logits of the last text token.
        return failure(ErrorKind::InvalidRequest, "the prompt ends with an image; a conversation must end with text");
    }
    return std::nullopt;
}

}  // namespace paddler
