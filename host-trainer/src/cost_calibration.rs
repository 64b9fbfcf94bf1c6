// Written by `scripts/calibrate-cost.sh` (tests/examples/fit_cost.rs): do not edit by hand.
/// The instruction model of each core and kind, fitted to BENCH figures of the emulated
/// boards (see the module's documentation), with its error on held-out shapes.
pub const CALIBRATION: [Calibration; 4] = [
    Calibration {
        core: Core::CortexM4F,
        kind: ModelKind::F32,
        coefficients: [
            134.6931, // per inference
            67.3616, // per layer
            13.3133, // per block of 4 rows
            44.2637, // per block step
            11.5343, // per block tail input
            9.1358, // per single row
            5.0723, // per single-row step
            0.0000, // per single-row tail input
            29.2882, // per hidden unit
            33.0992, // per output
            3.4824, // per input
            -28.9489, // per linear unit
            -24.6285, // per relu unit
            -19.0507, // per leaky_relu unit
            30.8444, // per sigmoid unit
            58.7058, // per tanh unit
            45.4650, // per softmax unit
            -2.1399, // per softmax layer
        ],
        stack_bytes: 420,
        held_out: HeldOut { shapes: 80, mean: 0.0266, within_10_percent: 1.0000, max: 0.0820 },
    },
    Calibration {
        core: Core::CortexM4F,
        kind: ModelKind::Int8,
        coefficients: [
            137.4680, // per inference
            54.5505, // per layer
            25.0710, // per block of 4 rows
            22.8350, // per block step
            21.5944, // per block tail input
            1.6827, // per single row
            10.1347, // per single-row step
            7.3009, // per single-row tail input
            39.1629, // per hidden unit
            62.8109, // per output
            24.6181, // per input
            -37.4900, // per linear unit
            0.0000, // per relu unit
            0.0000, // per leaky_relu unit
            35.2727, // per sigmoid unit
            54.0011, // per tanh unit
            11.0246, // per softmax unit
            39.7600, // per softmax layer
        ],
        stack_bytes: 440,
        held_out: HeldOut { shapes: 59, mean: 0.0267, within_10_percent: 1.0000, max: 0.0986 },
    },
    Calibration {
        core: Core::CortexM0,
        kind: ModelKind::F32,
        coefficients: [
            611.7154, // per inference
            -102.3682, // per layer
            396.8075, // per block of 4 rows
            6524.4341, // per block step
            873.8105, // per block tail input
            152.4720, // per single row
            216.6269, // per single-row step
            0.0000, // per single-row tail input
            924.3270, // per hidden unit
            815.2896, // per output
            40.5565, // per input
            -903.8684, // per linear unit
            -1127.0531, // per relu unit
            -830.8311, // per leaky_relu unit
            956.0145, // per sigmoid unit
            2286.2098, // per tanh unit
            1359.2323, // per softmax unit
            -1394.9158, // per softmax layer
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 80, mean: 0.0883, within_10_percent: 0.6250, max: 0.2775 },
    },
    Calibration {
        core: Core::CortexM0,
        kind: ModelKind::Int8,
        coefficients: [
            525.3605, // per inference
            39.1982, // per layer
            0.0000, // per block of 4 rows
            0.0000, // per block step
            0.0000, // per block tail input
            503.1187, // per single row
            29.6947, // per single-row step
            12.3771, // per single-row tail input
            -415.7389, // per hidden unit
            918.8554, // per output
            63.8844, // per input
            -1232.5247, // per linear unit
            0.0000, // per relu unit
            0.0000, // per leaky_relu unit
            787.5208, // per sigmoid unit
            2011.5899, // per tanh unit
            -647.7334, // per softmax unit
            129.0480, // per softmax layer
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 59, mean: 0.0615, within_10_percent: 0.7966, max: 0.1984 },
    },
];
