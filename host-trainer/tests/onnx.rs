//! ONNX both ways: host-trainer's export read back bit for bit; models written by PyTorch
//! (`scripts/onnx-fixtures.py`, committed with PyTorch's and onnxruntime's outputs) imported
//! and run by nn-core to the same numbers; MatMul + Add, float_data and arithmetic
//! normalizations from a graph built here; refusals that name the node; no panic on
//! damaged files.

#![allow(clippy::unwrap_used)] // tests may unwrap

use host_trainer::onnx::proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto, attribute_type, data_type,
};
mod imports;

use host_trainer::onnx;
use host_trainer::{DynNetwork, Rng, Scaling};
use nn_core::{Init, LayerView};
use prost::Message;

fn fixture(name: &str) -> Vec<u8> {
    imports::fixture(&format!("onnx/{name}"))
}

#[test]
fn an_export_imports_to_the_same_bits() {
    let mut rng = Rng::new(11);
    for spec in [
        "7:relu,5:leaky_relu,3:softmax",
        "4:sigmoid,4:tanh,1:linear",
        "2:linear",
        "16:tanh,1:sigmoid",
    ] {
        let mut net = DynNetwork::from_spec(6, spec).unwrap();
        net.init(Init::HeUniform, &mut rng);
        // Biases too: every parameter its own value.
        for p in net.params_mut() {
            *p += rng.normal() * 0.1;
        }
        let scaling = Scaling {
            offset: (0..6).map(|_| rng.normal()).collect(),
            scale: (0..6).map(|_| 0.5 + rng.uniform()).collect(),
        };
        for with_scaling in [true, false] {
            let bytes = onnx::export(&net, with_scaling.then_some(&scaling), "model");
            let back = onnx::import(&bytes).unwrap();
            assert_eq!(back.net.specs(), net.specs(), "{spec}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(back.net.params()), bits(net.params()), "{spec}");
            match (&back.scaling, with_scaling) {
                (Some(s), true) => {
                    assert_eq!(bits(&s.offset), bits(&scaling.offset));
                    assert_eq!(bits(&s.scale), bits(&scaling.scale));
                }
                (None, false) => {}
                other => panic!("{spec}: normalization {other:?}"),
            }
            assert_eq!(back.name, "model");
        }
    }
}

#[test]
fn pytorch_models_run_on_nn_core_as_in_pytorch() {
    // torch_iris: TorchScript exporter, opset 13, (x - mean) / std inside the model.
    let iris = onnx::import(&fixture("torch_iris.onnx")).unwrap();
    assert_eq!(iris.net.layer_list().unwrap().to_string(), "4-16 relu-3 softmax");
    assert!(
        iris.scaling.is_some(),
        "Sub and Div before the first layer are the normalization"
    );
    assert!(iris.producer.starts_with("pytorch"), "{}", iris.producer);
    // torch_sine: the dynamo exporter, opset 18, LeakyReLU(0.01) and Tanh.
    let sine = onnx::import(&fixture("torch_sine.onnx")).unwrap();
    assert_eq!(
        sine.net.layer_list().unwrap().to_string(),
        "1-16 relu-16 leaky_relu-1 tanh"
    );
    for (model, name) in [(&iris, "onnx/torch_iris.json"), (&sine, "onnx/torch_sine.json")] {
        for key in ["outputs", "onnxruntime"] {
            imports::assert_matches(model, name, key);
        }
    }
}

#[test]
fn a_tf2onnx_model_runs_on_nn_core_as_in_keras() {
    // Keras' iris model through a SavedModel and tf2onnx's command line (opset 13): its
    // Normalization as Sub and Mul, MatMul + Add, Relu, Softmax.
    let iris = onnx::import(&fixture("tf2onnx_iris.onnx")).unwrap();
    assert_eq!(iris.net.layer_list().unwrap().to_string(), "4-16 relu-3 softmax");
    assert!(iris.scaling.is_some(), "Sub and Mul before the first layer");
    assert!(iris.producer.starts_with("tf2onnx"), "{}", iris.producer);
    for key in ["outputs", "onnxruntime"] {
        imports::assert_matches(&iris, "onnx/tf2onnx_iris.json", key);
    }
    // The same network as the Keras file it was converted from.
    let keras = host_trainer::keras::import_keras(&imports::fixture("keras/iris.keras")).unwrap();
    assert_eq!(keras.net.params(), iris.net.params());
}

#[test]
fn onnxruntime_computes_what_nn_core_does_for_an_export() {
    let exported = onnx::import(&fixture("hosttrainer_iris.onnx")).unwrap();
    imports::assert_matches(&exported, "onnx/hosttrainer_iris.json", "onnxruntime");
}

fn tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: data_type::FLOAT,
        float_data: values.to_vec(),
        name: name.into(),
        ..TensorProto::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        name: format!("my_{}", op.to_lowercase()),
        op_type: op.into(),
        ..NodeProto::default()
    }
}

fn value(name: &str, features: i64) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: 0,
                            dim_param: "N".into(),
                        },
                        Dimension {
                            dim_value: features,
                            dim_param: String::new(),
                        },
                    ],
                }),
            }),
        }),
    }
}

/// x (2 features) -> Mul 2 -> Add 1 -> Flatten -> MatMul [2,3] -> Add bias -> Softmax (opset
/// 11: axis 1 by default) -> Gemm(transB 0, alpha 2, beta 0.5) [3,1] -> Sigmoid.
fn hand_made(opset: i64) -> ModelProto {
    let mut gemm = node("Gemm", &["s", "w2", "b2"], "g");
    gemm.attribute = vec![
        AttributeProto {
            name: "alpha".into(),
            f: 2.0,
            r#type: attribute_type::FLOAT,
            ..AttributeProto::default()
        },
        AttributeProto {
            name: "beta".into(),
            f: 0.5,
            r#type: attribute_type::FLOAT,
            ..AttributeProto::default()
        },
    ];
    ModelProto {
        ir_version: 6,
        producer_name: "by hand".into(),
        graph: Some(GraphProto {
            name: "hand".into(),
            node: vec![
                node("Mul", &["x", "two"], "m"),
                node("Add", &["m", "one"], "a"),
                node("Flatten", &["a"], "f"),
                node("MatMul", &["f", "w1"], "mm"),
                node("Add", &["mm", "b1"], "z"),
                node("Softmax", &["z"], "s"),
                gemm,
                node("Sigmoid", &["g"], "y"),
            ],
            initializer: vec![
                tensor("two", &[1], &[2.0]),
                tensor("one", &[2], &[1.0, -1.0]),
                tensor("w1", &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
                tensor("b1", &[3], &[0.1, 0.2, 0.3]),
                tensor("w2", &[3, 1], &[1.0, -1.0, 0.5]),
                tensor("b2", &[1], &[0.4]),
            ],
            input: vec![value("x", 2)],
            output: vec![value("y", 1)],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: opset,
        }],
        ..ModelProto::default()
    }
}

#[test]
fn matmul_add_float_data_and_arithmetic_normalization_are_read() {
    let imported = onnx::import(&hand_made(11).encode_to_vec()).unwrap();
    assert_eq!(
        imported.net.layer_list().unwrap().to_string(),
        "2-3 softmax-1 sigmoid"
    );
    let s = imported.scaling.as_ref().unwrap();
    // x' = 2x + c: scale 2, offset -c/2.
    assert_eq!(s.scale, vec![2.0, 2.0]);
    assert_eq!(s.offset, vec![-0.5, 0.5]);
    // MatMul's [inputs, outputs] weights transposed to rows; Gemm's alpha and beta applied.
    assert_eq!(
        imported.net.params(),
        &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 0.1, 0.2, 0.3, 2.0, -2.0, 1.0, 0.2]
    );
    // The graph's function computed by hand in f64.
    let x = [0.3f64, -0.7];
    let a: Vec<f64> = x.iter().zip([1.0, -1.0]).map(|(x, c)| 2.0 * x + c).collect();
    let z: Vec<f64> = (0..3)
        .map(|o| a[0] * [1.0, 2.0, 3.0][o] + a[1] * [4.0, 5.0, 6.0][o] + [0.1, 0.2, 0.3][o])
        .collect();
    let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
    let sum: f64 = e.iter().sum();
    let g = 2.0 * (e[0] - e[1] + 0.5 * e[2]) / sum + 0.5 * 0.4;
    let y = 1.0 / (1.0 + (-g).exp());
    let got = imports::run(&imported, &[0.3, -0.7]);
    assert!((f64::from(got[0]) - y).abs() < 1e-6, "{got:?} vs {y}");
}

/// A constant on the left of `Sub`, `Mul` and of a bias `Add`: `c - x`, `c · x`, `b + x W`.
#[test]
fn constants_on_the_left_are_read_too() {
    let mut model = hand_made(13);
    let graph = model.graph.as_mut().unwrap();
    // x -> Sub(c, x) -> Mul(two, ·) -> Flatten -> MatMul -> Add(b1, ·) -> ...
    graph.node[0] = node("Sub", &["one", "x"], "s0");
    graph.node[1] = node("Mul", &["two", "s0"], "a");
    graph.node[4] = node("Add", &["b1", "mm"], "z");
    let imported = onnx::import(&model.encode_to_vec()).unwrap();
    let s = imported.scaling.as_ref().unwrap();
    // x' = 2·(c - x) = -2x + 2c: scale -2, offset c.
    assert_eq!(s.scale, vec![-2.0, -2.0]);
    assert_eq!(s.offset, vec![1.0, -1.0]);
    assert_eq!(
        &imported.net.params()[6..9],
        &[0.1, 0.2, 0.3],
        "the bias read from the left"
    );
    // Div by x (c / x) is not a normalization.
    let mut model = hand_made(13);
    model.graph.as_mut().unwrap().node[1] = node("Div", &["two", "m"], "a");
    let message = onnx::import(&model.encode_to_vec()).unwrap_err().0;
    assert!(
        message.contains("node Div 'my_div': does not take the chain's value"),
        "{message}"
    );
}

/// More layers than a weight file holds: refused, saying so.
#[test]
fn a_chain_longer_than_a_file_holds_is_refused() {
    let mut graph = GraphProto {
        name: "deep".into(),
        input: vec![value("x", 2)],
        output: vec![value("l8", 2)],
        ..GraphProto::default()
    };
    let mut current = "x".to_owned();
    for l in 0..9 {
        let (w, out) = (format!("w{l}"), format!("l{l}"));
        graph.initializer.push(tensor(&w, &[2, 2], &[1.0, 0.0, 0.0, 1.0]));
        graph.node.push(node("MatMul", &[&current, &w], &out));
        current = out;
    }
    let model = ModelProto {
        graph: Some(graph),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        ..ModelProto::default()
    };
    let message = onnx::import(&model.encode_to_vec()).unwrap_err().0;
    assert!(
        message.contains("the network has 9 layers, a weight file holds at most 8"),
        "{message}"
    );
}

#[test]
fn what_is_not_a_dense_chain_is_refused_by_name() {
    let refused = |bytes: &[u8]| onnx::import(bytes).unwrap_err().0;
    let conv = refused(&fixture("torch_conv.onnx"));
    assert!(
        conv.contains("node Conv '/1/Conv': operator Conv is not supported"),
        "{conv}"
    );
    let skip = refused(&fixture("torch_skip.onnx"));
    assert!(
        skip.contains("node Add '/Add': joins the chain's value with"),
        "{skip}"
    );
    assert!(skip.contains("a skip connection or a branch"), "{skip}");
    // Softmax over the batch axis, a LeakyReLU of another slope, an unknown opset.
    let mut model = hand_made(13);
    let graph = model.graph.as_mut().unwrap();
    graph.node[5].attribute.push(AttributeProto {
        name: "axis".into(),
        i: 0,
        r#type: attribute_type::INT,
        ..AttributeProto::default()
    });
    let message = refused(&model.encode_to_vec());
    assert!(
        message.contains("node Softmax 'my_softmax': softmax over axis 0"),
        "{message}"
    );
    let mut model = hand_made(13);
    model.graph.as_mut().unwrap().node[7].op_type = "LeakyRelu".into();
    model.graph.as_mut().unwrap().node[7]
        .attribute
        .push(AttributeProto {
            name: "alpha".into(),
            f: 0.2,
            r#type: attribute_type::FLOAT,
            ..AttributeProto::default()
        });
    let message = refused(&model.encode_to_vec());
    assert!(
        message.contains("slope 0.2: nn-core's leaky ReLU has slope 0.01"),
        "{message}"
    );
    let message = refused(&hand_made(7).encode_to_vec());
    assert!(
        message.contains("operator set 7: import reads opsets 9 to 21"),
        "{message}"
    );
    // Arithmetic after the first layer is not a normalization.
    let mut model = hand_made(13);
    let graph = model.graph.as_mut().unwrap();
    graph.node.insert(5, node("Mul", &["z", "two"], "z2"));
    graph.node[6].input[0] = "z2".into();
    let message = refused(&model.encode_to_vec());
    assert!(
        message.contains("node Mul 'my_mul': Mul by a constant after the first layer"),
        "{message}"
    );
    assert!(refused(b"not a model at all").starts_with("not an ONNX model"));
}

#[test]
fn damaged_files_are_refused_without_a_panic() {
    let bytes = fixture("torch_iris.onnx");
    for len in 0..bytes.len() {
        let _ = onnx::import(&bytes[..len]);
    }
    let mut rng = Rng::new(5);
    for _ in 0..3000 {
        let mut damaged = bytes.clone();
        let at = rng.below(damaged.len());
        damaged[at] ^= 1 << rng.below(8);
        let _ = onnx::import(&damaged);
    }
}
