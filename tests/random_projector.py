"""A multimodal projector (mmproj GGUF) with random weights, for tests of images without a vision
model (none is installable here).

By default a LLaVA-1.5 style projector (`clip.projector_type = mlp`): a one-layer ViT over 8x8
patches of a 64x64 image, then a two-layer MLP whose output width is SmolLM2's embedding size (576),
so llama.cpp's mtmd loads it beside SmolLM2. Every image becomes 64 image tokens. On request a
Gemma 3 style one (`gemma3`: patches averaged into few tokens, non-causal). The weights are random
but fixed by the seed, and scaled so that image embeddings are as large as SmolLM2's token
embeddings: the answer depends on the image.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np

TEXT_EMBEDDING_SIZE = 576  # SmolLM2-135M
IMAGE_SIZE = 64
PATCH_SIZE = 8
IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2
_VISION_EMBEDDING = 64
_VISION_FEED_FORWARD = 128
_VISION_HEADS = 4
# mtmd runs all but the last block of a LLaVA projector's ViT.
_VISION_BLOCKS = 2
_MLP_HIDDEN = 128
# SmolLM2's token embeddings have a standard deviation of about 0.14.
_OUTPUT_STD = 0.14


def write_random_projector(
    path: Path,
    seed: int = 0,
    *,
    image_size: int = IMAGE_SIZE,
    patch_size: int = PATCH_SIZE,
    vision_embedding: int = _VISION_EMBEDDING,
    vision_feed_forward: int = _VISION_FEED_FORWARD,
    vision_blocks: int = _VISION_BLOCKS,
    pooled_by: int = 0,
    matrices_in_f16: bool = False,
) -> Path:
    """The default is small and fast; a larger ViT makes an encoder that takes its time.

    `pooled_by` > 0 writes a Gemma 3 style projector instead: the ViT's patches are averaged in
    squares of `pooled_by` x `pooled_by` into few image tokens (an encoder much slower than the
    decoding of its output), and its image tokens attend to each other both ways (non-causal).
    `matrices_in_f16` stores the ViT's matrices in F16, as converted projectors ship them (norms
    and biases stay F32); the default F32 keeps the tests' outputs as they were.
    """
    rng = np.random.default_rng(seed)
    patches = (image_size // patch_size) ** 2

    def dense(rows: int, columns: int, std: float | None = None) -> np.ndarray:
        # numpy (rows, columns) is ggml's ne = [columns, rows]: columns in, rows out.
        scale = std if std is not None else 1.0 / np.sqrt(columns)
        return (rng.standard_normal((rows, columns)) * scale).astype(np.float32)

    def matrix(rows: int, columns: int) -> np.ndarray:
        weights = dense(rows, columns)
        return weights.astype(np.float16) if matrices_in_f16 else weights

    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_string("general.name", "paddler random test projector")
    writer.add_string("clip.projector_type", "gemma3" if pooled_by else "mlp")
    if pooled_by:
        writer.add_uint32("clip.vision.projector.scale_factor", pooled_by)
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.embedding_length", vision_embedding)
    writer.add_uint32("clip.vision.feed_forward_length", vision_feed_forward)
    writer.add_uint32("clip.vision.block_count", vision_blocks)
    writer.add_uint32("clip.vision.projection_dim", TEXT_EMBEDDING_SIZE)
    writer.add_uint32("clip.vision.attention.head_count", _VISION_HEADS)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_uint32("clip.vision.image_size", image_size)
    writer.add_uint32("clip.vision.patch_size", patch_size)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])

    patch_fan_in = 3 * patch_size * patch_size
    patch = rng.standard_normal((vision_embedding, 3, patch_size, patch_size)) / np.sqrt(patch_fan_in)
    # A convolution kernel: ggml's im2col path takes it in F16, as converted models ship it.
    writer.add_tensor("v.patch_embd.weight", patch.astype(np.float16))
    writer.add_tensor("v.position_embd.weight", dense(patches, vision_embedding, 0.02))
    ones = np.ones(vision_embedding, dtype=np.float32)
    zeros = np.zeros(vision_embedding, dtype=np.float32)
    for block in range(vision_blocks):
        prefix = f"v.blk.{block}"
        for norm in ("ln1", "ln2"):
            writer.add_tensor(f"{prefix}.{norm}.weight", ones)
            writer.add_tensor(f"{prefix}.{norm}.bias", zeros)
        for projection in ("attn_q", "attn_k", "attn_v", "attn_out"):
            writer.add_tensor(f"{prefix}.{projection}.weight", matrix(vision_embedding, vision_embedding))
            writer.add_tensor(f"{prefix}.{projection}.bias", zeros)
        writer.add_tensor(f"{prefix}.ffn_up.weight", matrix(vision_feed_forward, vision_embedding))
        writer.add_tensor(f"{prefix}.ffn_up.bias", np.zeros(vision_feed_forward, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_down.weight", matrix(vision_embedding, vision_feed_forward))
        writer.add_tensor(f"{prefix}.ffn_down.bias", zeros)
    if pooled_by:
        writer.add_tensor("mm.soft_emb_norm.weight", ones)
        # RMS-normed input: each output is a sum of vision_embedding unit terms.
        input_projection = dense(
            vision_embedding, TEXT_EMBEDDING_SIZE, _OUTPUT_STD / np.sqrt(vision_embedding)
        )
        writer.add_tensor("mm.input_projection.weight", input_projection)
    else:
        writer.add_tensor("mm.0.weight", dense(_MLP_HIDDEN, vision_embedding))
        writer.add_tensor("mm.0.bias", np.zeros(_MLP_HIDDEN, dtype=np.float32))
        # GELU of unit activations has a standard deviation of about 0.6.
        output_weight_std = _OUTPUT_STD / 0.6 / np.sqrt(_MLP_HIDDEN)
        writer.add_tensor("mm.2.weight", dense(TEXT_EMBEDDING_SIZE, _MLP_HIDDEN, output_weight_std))
        writer.add_tensor("mm.2.bias", np.zeros(TEXT_EMBEDDING_SIZE, dtype=np.float32))

    partial = path.with_suffix(".part")
    writer.path = partial
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(path)
    return path
