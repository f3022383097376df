"""Read model files (YAML or HF ``config.json``) and build their Graph by ``model_type``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable


from archsim.errors import ConfigError
from archsim.workload import cnn, neural_graphics, transformer
from archsim.workload.config_view import ConfigView
from archsim.workload.graph import Graph
from archsim.workload.knobs import RunKnobs
from archsim.workload.transformer_spec import DECODER_TYPES, transformer_spec

CNN_BUILDERS: dict[str, Callable[[str, ConfigView, RunKnobs], Graph]] = {
    "resnet": cnn.build_resnet,
    "mobilenet_v1": cnn.build_mobilenet_v1,
    "mobilenet_v2": cnn.build_mobilenet_v2,
    "vgg": cnn.build_vgg,
    "alexnet": cnn.build_alexnet,
    "googlenet": cnn.build_googlenet,
    "inception_v3": cnn.build_inception_v3,
    "squeezenet": cnn.build_squeezenet,
    "efficientnet": cnn.build_efficientnet,
    "densenet": cnn.build_densenet,
    "cnn_layers": cnn.build_layer_list,
    "instant_ngp": neural_graphics.build_instant_ngp,
}
MODEL_TYPES = tuple(CNN_BUILDERS) + DECODER_TYPES + ("bert", "vit")


def read_model_file(path: Path) -> dict[str, Any]:
    """Return the top-level mapping of a YAML or JSON model file (ConfigError if unreadable)."""
    from archsim.config.yaml_file import parse_yaml, read_text_file

    text = read_text_file(path, "model file")
    if path.suffix.lower() != ".json":
        data = parse_yaml(text, path)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(path, "", f"not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") \
                from None
    if not isinstance(data, dict):
        raise ConfigError(path, "", "top level is not a mapping", value=type(data).__name__, has_value=True,
                          expected="a mapping of model-config keys (model_type, hidden_size, …)")
    return data


def infer_model_type(data: dict[str, Any]) -> str | None:
    """Guess ``model_type`` for configs that omit it (old GPT-2 style or LLaMA style keys)."""
    if "n_embd" in data and "n_layer" in data:
        return "gpt2"
    if "hidden_size" in data and "num_key_value_heads" in data:
        return "mixtral" if "num_local_experts" in data else "llama"
    return None


def build_model_graph(name: str, data: dict[str, Any], source: str, knobs: RunKnobs) -> Graph:
    """Build the Graph of the model described by ``data`` (loaded from ``source``) under ``knobs``."""
    cfg = ConfigView(data, source)
    model_type = data.get("model_type") or infer_model_type(data)
    if model_type is None:
        raise ConfigError(source, "model_type", "required key is missing",
                          expected=f"one of {', '.join(MODEL_TYPES)}")
    if model_type in CNN_BUILDERS:
        graph = CNN_BUILDERS[model_type](name, cfg, knobs)
    elif model_type in MODEL_TYPES:
        spec = transformer_spec(cfg, model_type)
        if model_type == "bert":
            graph = transformer.build_bert(name, spec, knobs)
        elif model_type == "vit":
            graph = transformer.build_vit(name, spec, knobs)
        else:
            graph = transformer.build_decoder(name, spec, knobs)
    else:
        raise ConfigError(source, "model_type", "unsupported model type", value=model_type, has_value=True,
                          expected=f"one of {', '.join(MODEL_TYPES)}")
    graph.metadata.setdefault("model_type", str(model_type))
    graph.metadata["source"] = source
    hf = data.get("_source")
    if isinstance(hf, dict) and hf.get("hf_repo"):
        graph.metadata["hf_repo"] = str(hf["hf_repo"])
    return graph
