//! Typed networks: memory constants, predictions against an independent f64 forward pass,
//! owned and borrowed forms, the layer view, initialisation.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use nn_core::{
    Dense, DenseRef, Identity, Init, Layer, LayerView, LayerViewMut, Relu, Softmax, Tanh, Trainable, network,
};

type Sine = network![Dense<1, 16, Relu>, Dense<16, 16, Relu>, Dense<16, 1, Identity>];
type Digits = network![Dense<64, 32, Relu>, Dense<32, 10, Softmax>];
type Deep = network![
    Dense<4, 8, Tanh>,
    Dense<8, 8, Relu>,
    Dense<8, 8, Tanh>,
    Dense<8, 8, Relu>,
    Dense<8, 6, Tanh>,
    Dense<6, 2, Softmax>,
];

#[test]
fn memory_constants_match_the_types() {
    assert_eq!(Sine::WEIGHT_BYTES, size_of::<Sine>());
    assert_eq!(Digits::WEIGHT_BYTES, size_of::<Digits>());
    assert_eq!(Deep::WEIGHT_BYTES, size_of::<Deep>());
    assert_eq!(Sine::PARAM_COUNT, 16 + 16 + 16 * 16 + 16 + 16 + 1);
    assert_eq!(Digits::PARAM_COUNT, 64 * 32 + 32 + 32 * 10 + 10);
    // The largest layer's input and output, alive together.
    assert_eq!(
        Sine::PEAK_ACTIVATION_BYTES,
        size_of::<[f32; 16]>() + size_of::<[f32; 16]>()
    );
    assert_eq!(
        Digits::PEAK_ACTIVATION_BYTES,
        size_of::<[f32; 64]>() + size_of::<[f32; 32]>()
    );
    assert_eq!(Deep::LAYER_COUNT, 6);
    // The borrowed form holds two references per layer, not the weights.
    assert_eq!(
        size_of::<<Digits as Trainable>::Ref<'static>>(),
        4 * size_of::<usize>()
    );
}

fn check_predict_against_reference<N: Trainable>(seed: u64) {
    let mut rng = rng(seed);
    let net = N::init(&mut rng, Init::HeNormal);
    let params = params_of(&net);
    for _ in 0..20 {
        let mut x = <N::Input as nn_core::Vector>::zeroed();
        x.as_mut()
            .iter_mut()
            .for_each(|v| *v = uniform(&mut rng, -2.0, 2.0));
        let y = net.predict(&x);
        let reference = forward_ref(&net, &params, &to_f64(x.as_ref()));
        for (a, b) in y.as_ref().iter().zip(&reference) {
            assert_close(*a as f64, *b, 1e-5, 1e-5, "prediction");
        }
    }
}

#[test]
fn predictions_match_an_f64_reference() {
    check_predict_against_reference::<Sine>(10);
    check_predict_against_reference::<Digits>(11);
    check_predict_against_reference::<Deep>(12);
}

#[test]
fn a_hand_computed_network() {
    // y = relu(W1 x + b1), out = W2 y + b2, worked out by hand.
    let net: network![Dense<2, 2, Relu>, Dense<2, 1, Identity>] = (
        Dense::new([[1.0, 2.0], [-1.0, 0.5]], [0.5, -1.0]),
        Dense::new([[2.0, -3.0]], [0.25]),
    );
    // h = relu([1 + 4 + 0.5, -1 + 1 - 1]) = [5.5, 0]; out = 11 + 0.25
    assert_eq!(net.predict(&[1.0, 2.0]), [11.25]);
    let borrowed = (net.0.as_ref(), net.1.as_ref());
    assert_eq!(borrowed.predict(&[1.0, 2.0]), [11.25]);
}

#[test]
fn borrowed_and_owned_forms_agree_bit_for_bit() {
    let mut rng = rng(13);
    let net = Digits::init(&mut rng, Init::GlorotUniform);
    let flat: Vec<f32> = params_of(&net).iter().map(|&v| v as f32).collect();
    let mut params = &flat[..];
    let borrowed = Digits::borrow_params(&mut params).unwrap();
    assert!(params.is_empty());
    for _ in 0..20 {
        let x: [f32; 64] = core::array::from_fn(|_| uniform(&mut rng, 0.0, 1.0));
        assert_eq!(
            net.predict(&x).map(f32::to_bits),
            borrowed.predict(&x).map(f32::to_bits)
        );
    }
    let mut short = &flat[..flat.len() - 1];
    assert!(Digits::borrow_params(&mut short).is_none());
}

#[test]
fn layer_view_reads_and_writes_in_place() {
    let mut net = Sine::zeroed();
    assert_eq!(net.layer_count(), 3);
    assert!(net.layer(3).is_none());
    let specs: Vec<String> = (0..3)
        .map(|i| format!("{:?}", net.layer(i).unwrap().spec))
        .collect();
    assert!(specs[1].contains("inputs: 16, outputs: 16, activation: Relu"));
    let last = net.layer_mut(2).unwrap();
    last.weights[3] = 2.5;
    last.bias[0] = -1.0;
    assert_eq!(net.1.1.weights[0][3], 2.5);
    assert_eq!(net.1.1.bias[0], -1.0);
    assert_eq!(
        net.layer_list().unwrap().to_string(),
        "1-16 relu-16 relu-1 linear"
    );
    assert_eq!(<Sine as Layer>::spec_at(1), Some(net.layer(1).unwrap().spec));
    let layer = DenseRef::<16, 1, Identity>::new(&net.1.1.weights, &net.1.1.bias);
    assert_eq!(layer.layer(0).unwrap().weights[3], 2.5);
}

#[test]
fn initialisation_is_seeded_and_scaled() {
    let a = Digits::init(&mut rng(99), Init::HeUniform);
    let b = Digits::init(&mut rng(99), Init::HeUniform);
    let c = Digits::init(&mut rng(100), Init::HeUniform);
    assert_eq!(a, b);
    assert_ne!(a, c);
    // He uniform on 64 inputs: bound √(6/64); variance bound²/3 = 2/64.
    let w = a.0.weights.as_flattened();
    let bound = (6.0f32 / 64.0).sqrt();
    assert!(w.iter().all(|v| v.abs() <= bound));
    let variance = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    assert_close(variance as f64, 2.0 / 64.0, 0.0, 0.1, "He uniform variance");
    let n = Digits::init(&mut rng(5), Init::GlorotNormal);
    let w = n.0.weights.as_flattened();
    let variance = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
    assert_close(variance as f64, 2.0 / 96.0, 0.0, 0.1, "Glorot normal variance");
    assert!(a.0.bias.iter().all(|&b| b == 0.0));
}

#[test]
fn the_layer_view_forward_gives_the_typed_bits() {
    let mut rng = rng(21);
    let net = Digits::init(&mut rng, Init::GlorotUniform);
    let width = nn_core::widest_layer(&net);
    assert_eq!(width, 64);
    let (mut a, mut b) = (vec![0.0; width], vec![0.0; width]);
    for _ in 0..50 {
        let x: [f32; 64] = core::array::from_fn(|_| uniform(&mut rng, 0.0, 1.0));
        let typed = net.predict(&x);
        let viewed = nn_core::predict_view(&net, &x, &mut a, &mut b).unwrap();
        assert_eq!(
            typed.map(f32::to_bits).to_vec(),
            viewed.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
    assert!(
        nn_core::predict_view(&net, &[0.0; 63], &mut a, &mut b).is_none(),
        "wrong input width"
    );
    assert!(
        nn_core::predict_view(&net, &[0.0; 64], &mut [0.0; 32], &mut b).is_none(),
        "short scratch"
    );
}

#[test]
fn fine_tuning_steps_touch_only_their_scope() {
    use nn_core::finetune::{Scope, sgd_step, zero};
    let net = Sine::init(&mut rng(30), Init::HeUniform);
    let mut grads = Sine::zeroed();
    let mut cache = Sine::new_cache();
    net.accumulate_gradients(
        &[0.7],
        &[0.2],
        nn_core::Loss::MeanSquaredError,
        &mut cache,
        &mut grads,
    );
    for scope in [Scope::LastLayer, Scope::BiasesAndLastLayer, Scope::All] {
        let mut tuned = net.clone();
        sgd_step(&mut tuned, &grads, 0.1, scope);
        for index in 0..3 {
            let (a, b, g) = (
                net.layer(index).unwrap(),
                tuned.layer(index).unwrap(),
                grads.layer(index).unwrap(),
            );
            let weights_move = scope == Scope::All || index == 2;
            let bias_moves = scope != Scope::LastLayer || index == 2;
            for ((a, b), g) in a.weights.iter().zip(b.weights).zip(g.weights) {
                assert_eq!(
                    *b,
                    if weights_move { a - 0.1 * g } else { *a },
                    "{scope:?} layer {index}"
                );
            }
            for ((a, b), g) in a.bias.iter().zip(b.bias).zip(g.bias) {
                assert_eq!(
                    *b,
                    if bias_moves { a - 0.1 * g } else { *a },
                    "{scope:?} layer {index}"
                );
            }
        }
    }
    zero(&mut grads);
    assert_eq!(grads, Sine::zeroed());
}
