"""A multimodal projector (mmproj GGUF) with random weights, for tests of images without a vision
model (none is installable here).

It is a LLaVA-1.5 style projector (`clip.projector_type = mlp`): a one-layer ViT over 8x8 patches of
a 64x64 image, then a two-layer MLP whose output width is SmolLM2's embedding size (576), so
llama.cpp's mtmd loads it beside SmolLM2. Every image becomes 64 image tokens. The weights are
random but fixed by the seed, and scaled so that image embeddings are as large as SmolLM2's token
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


def write_random_projector(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)

    def dense(rows: int, columns: int, std: float | None = None) -> np.ndarray:
        # numpy (rows, columns) is ggml's ne = [columns, rows]: columns in, rows out.
        scale = std if std is not None else 1.0 / np.sqrt(columns)
        return (rng.standard_normal((rows, columns)) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_string("general.name", "paddler random test projector")
    writer.add_string("clip.projector_type", "mlp")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_bool("clip.use_gelu", True)
    writer.add_uint32("clip.vision.embedding_length", _VISION_EMBEDDING)
    writer.add_uint32("clip.vision.feed_forward_length", _VISION_FEED_FORWARD)
    writer.add_uint32("clip.vision.block_count", _VISION_BLOCKS)
    writer.add_uint32("clip.vision.projection_dim", TEXT_EMBEDDING_SIZE)
    writer.add_uint32("clip.vision.attention.head_count", _VISION_HEADS)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_uint32("clip.vision.image_size", IMAGE_SIZE)
    writer.add_uint32("clip.vision.patch_size", PATCH_SIZE)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])

    patch_fan_in = 3 * PATCH_SIZE * PATCH_SIZE
    patch = rng.standard_normal((_VISION_EMBEDDING, 3, PATCH_SIZE, PATCH_SIZE)) / np.sqrt(patch_fan_in)
    # A convolution kernel: ggml's im2col path takes it in F16, as converted models ship it.
    writer.add_tensor("v.patch_embd.weight", patch.astype(np.float16))
    writer.add_tensor("v.position_embd.weight", dense(IMAGE_TOKENS, _VISION_EMBEDDING, 0.02))
    ones = np.ones(_VISION_EMBEDDING, dtype=np.float32)
    zeros = np.zeros(_VISION_EMBEDDING, dtype=np.float32)
    for block in range(_VISION_BLOCKS):
        prefix = f"v.blk.{block}"
        for norm in ("ln1", "ln2"):
            writer.add_tensor(f"{prefix}.{norm}.weight", ones)
            writer.add_tensor(f"{prefix}.{norm}.bias", zeros)
        for projection in ("attn_q", "attn_k", "attn_v", "attn_out"):
            writer.add_tensor(f"{prefix}.{projection}.weight", dense(_VISION_EMBEDDING, _VISION_EMBEDDING))
            writer.add_tensor(f"{prefix}.{projection}.bias", zeros)
        writer.add_tensor(f"{prefix}.ffn_up.weight", dense(_VISION_FEED_FORWARD, _VISION_EMBEDDING))
        writer.add_tensor(f"{prefix}.ffn_up.bias", np.zeros(_VISION_FEED_FORWARD, dtype=np.float32))
        writer.add_tensor(f"{prefix}.ffn_down.weight", dense(_VISION_EMBEDDING, _VISION_FEED_FORWARD))
        writer.add_tensor(f"{prefix}.ffn_down.bias", zeros)
    writer.add_tensor("mm.0.weight", dense(_MLP_HIDDEN, _VISION_EMBEDDING))
    writer.add_tensor("mm.0.bias", np.zeros(_MLP_HIDDEN, dtype=np.float32))
    # GELU of unit activations has a standard deviation of about 0.6.
    writer.add_tensor(
        "mm.2.weight", dense(TEXT_EMBEDDING_SIZE, _MLP_HIDDEN, _OUTPUT_STD / 0.6 / np.sqrt(_MLP_HIDDEN))
    )
    writer.add_tensor("mm.2.bias", np.zeros(TEXT_EMBEDDING_SIZE, dtype=np.float32))

    partial = path.with_suffix(".part")
    writer.path = partial
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(path)
    return path
