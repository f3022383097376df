"""load_workload: zoo names, model files, HF config.json, traces, SCALE-Sim topologies, and clear errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from archsim.errors import ConfigError, WorkloadError
from archsim.scalesim.topology import read_topology
from archsim.trace import read_trace, write_trace
from archsim.workload import list_workloads, load_workload
from archsim.workload.scalesim_topology import write_topology_trace

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "scalesim" / "topologies"
REQUIRED = ["resnet18", "resnet50", "mobilenet_v1", "mobilenet_v2", "vgg16", "yolov3_tiny", "bert_base",
            "bert_large", "vit_b16", "gpt2", "gpt3_125m", "gpt3_175b", "opt_1p3b", "opt_66b", "llama2_7b",
            "llama2_13b", "llama2_70b", "llama3_8b", "llama3_70b", "mixtral_8x7b"]


def test_the_zoo_lists_every_required_model():
    assert set(REQUIRED) <= set(list_workloads())


def test_names_are_case_and_dash_insensitive_and_aliases_resolve():
    assert load_workload("ResNet-18").total_macs == load_workload("resnet18").total_macs
    assert load_workload("gpt3_xl").total_params == load_workload("gpt3_1p3b").total_params
    assert load_workload("opt-1.3b").name == "opt_1p3b"


def test_an_unknown_name_suggests_close_matches():
    with pytest.raises(WorkloadError, match="unknown workload 'resnet19'.*did you mean.*resnet18"):
        load_workload("resnet19")


def test_an_unknown_override_lists_the_known_ones():
    with pytest.raises(ConfigError, match="--set: batchsize: unknown workload setting.*batch"):
        load_workload("resnet18", ["batchsize=2"])


def test_a_bad_override_value_says_what_was_expected():
    with pytest.raises(ConfigError, match="batch: bad value; got 0; expected an integer >= 1"):
        load_workload("resnet18", ["batch=0"])


def test_a_hugging_face_config_json_loads_from_disk(tmp_path):
    config = {"architectures": ["LlamaForCausalLM"], "hidden_size": 512, "intermediate_size": 1024,
              "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 8,
              "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "vocab_size": 1000,
              "torch_dtype": "bfloat16", "tie_word_embeddings": False}
    path = tmp_path / "tiny-llama" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config))
    trace = load_workload(str(path), ["phase=decode", "context=16"])
    assert trace.name == "tiny-llama"
    expected = 2 * 1000 * 512 + 2 * (512 * (512 + 2 * 128) + 512 * 512 + 3 * 512 * 1024 + 2 * 512) + 512
    assert trace.total_params == expected


def test_a_model_yaml_with_a_bad_value_names_the_file_and_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("model_type: resnet\ndepths: [2, 2]\nhidden_sizes: [64, -1]\n")
    with pytest.raises(ConfigError, match=r"m\.yaml: hidden_sizes: bad value.*expected a list of integers"):
        load_workload(str(path))


def test_malformed_yaml_reports_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("model_type: vgg\ncfg: [64, 64\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: <top level>: not valid YAML at line"):
        load_workload(str(path))


def test_an_unsupported_model_type_lists_the_supported_ones(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("model_type: rwkv\n")
    with pytest.raises(ConfigError, match="model_type: unsupported model type; got 'rwkv'; expected one of"):
        load_workload(str(path))


def test_inconsistent_heads_are_refused_at_load(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"model_type": "llama", "hidden_size": 512, "intermediate_size": 8,
                                "num_attention_heads": 8, "num_key_value_heads": 3, "num_hidden_layers": 1,
                                "vocab_size": 10, "max_position_embeddings": 8}))
    with pytest.raises(ConfigError, match="num_key_value_heads: does not divide"):
        load_workload(str(path))


def test_moe_keys_must_come_together(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 8,
                                "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 10,
                                "max_position_embeddings": 8, "num_local_experts": 4}))
    with pytest.raises(ConfigError, match="MoE keys must be given together"):
        load_workload(str(path))


def test_a_missing_file_is_a_workload_error():
    with pytest.raises(WorkloadError, match="not found"):
        load_workload("does/not/exist.yaml")


def test_a_trace_file_loads_as_is_and_refuses_overrides(tmp_path):
    trace = load_workload("resnet18")
    path = write_trace(trace, tmp_path / "r.csv")
    assert load_workload(str(path)) == trace
    with pytest.raises(WorkloadError, match="trace file is fixed"):
        load_workload(str(path), ["batch=2"])


def test_a_scalesim_conv_topology_imports_with_scalesims_output_sizes():
    path = FIXTURES / "conv_edge.csv"
    trace = load_workload(str(path))
    layers = read_topology(path, "conv")
    assert [op.dims["OH"] for op in trace.ops] == [layer.ofmap_h for layer in layers]
    assert [op.macs for op in trace.ops] == [layer.ofmap_h * layer.ofmap_w * layer.num_filters * layer.filter_h
                                             * layer.filter_w * layer.channels for layer in layers]
    assert trace.ops[1].deps == (0,)


def test_a_scalesim_gemm_topology_imports_as_gemms():
    trace = load_workload(str(FIXTURES / "gemm_small.csv"))
    assert trace.ops[2].kind == "gemm" and trace.ops[2].dims == {"B": 1, "M": 20, "N": 12, "K": 30}
    assert trace.ops[0].kind == "gemv"


def test_exporting_to_a_scalesim_topology_preserves_every_layers_macs(tmp_path):
    trace = load_workload("resnet18")
    path = write_topology_trace(trace, tmp_path / "topo.csv")
    layers = read_topology(path, "conv")
    assert sum(l.ofmap_h * l.ofmap_w * l.num_filters * l.filter_h * l.filter_w * l.channels for l in layers) \
        == trace.total_macs
    assert layers[0].ofmap_h == 112


def test_exporting_depthwise_convs_uses_scalesim_dp_rows(tmp_path):
    trace = load_workload("mobilenet_v1")
    layers = read_topology(write_topology_trace(trace, tmp_path / "m.csv"), "conv")
    assert sum(l.ofmap_h * l.ofmap_w * l.num_filters * l.filter_h * l.filter_w * l.channels for l in layers) \
        == trace.total_macs
    assert any("DP" in layer.name for layer in layers)


def test_a_csv_that_is_neither_trace_nor_topology_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(WorkloadError, match="neither an archsim trace .* nor a SCALE-Sim topology"):
        load_workload(str(path))


def test_lowering_is_deterministic():
    assert load_workload("mixtral_8x7b", ["batch=3"]) == load_workload("mixtral_8x7b", ["batch=3"])


def test_parquet_trace_loads_through_load_workload(tmp_path):
    pytest.importorskip("pyarrow")
    trace = load_workload("bert_base", ["layers=2"])
    assert load_workload(str(write_trace(trace, tmp_path / "b.parquet"))) == read_trace(tmp_path / "b.parquet")
