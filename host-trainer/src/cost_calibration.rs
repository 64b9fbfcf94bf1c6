// Written by `scripts/calibrate-cost.sh` (tests/examples/fit_cost.rs): do not edit by hand.
/// The instruction model of each core and kind, fitted to BENCH figures of the emulated
/// boards (see the module's documentation), with its error on held-out shapes.
pub const CALIBRATION: [Calibration; 4] = [
    Calibration {
        core: Core::CortexM4F,
        kind: ModelKind::F32,
        coefficients: [
            135.0208, // per inference
            67.0210, // per layer
            13.3405, // per block of 4 rows
            44.6129, // per block step
            11.5451, // per block tail input
            9.1383, // per single row
            5.0730, // per single-row step
            0.0000, // per single-row tail input
            29.3217, // per hidden unit
            33.1782, // per output
            3.4383, // per input
            -29.0184, // per linear unit
            -24.4085, // per relu unit
            -19.0826, // per leaky_relu unit
            30.8775, // per sigmoid unit
            58.6468, // per tanh unit
            45.4850, // per softmax unit
            -2.2227, // per softmax layer
            -0.0478, // per multiply-add on ReLU outputs
        ],
        stack_bytes: 420,
        held_out: HeldOut { shapes: 80, mean: 0.0267, within_10_percent: 1.0000, max: 0.0820 },
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
            0.0000, // per multiply-add on ReLU outputs
        ],
        stack_bytes: 440,
        held_out: HeldOut { shapes: 59, mean: 0.0267, within_10_percent: 1.0000, max: 0.0986 },
    },
    Calibration {
        core: Core::CortexM0,
        kind: ModelKind::F32,
        coefficients: [
            745.0738, // per inference
            -184.5257, // per layer
            400.4676, // per block of 4 rows
            7448.2380, // per block step
            938.6346, // per block tail input
            165.1494, // per single row
            230.5831, // per single-row step
            0.0000, // per single-row tail input
            905.7926, // per hidden unit
            861.1692, // per output
            1.4594, // per input
            -975.4629, // per linear unit
            -923.2838, // per relu unit
            -828.0681, // per leaky_relu unit
            895.9424, // per sigmoid unit
            2223.9996, // per tanh unit
            1373.8657, // per softmax unit
            -1596.5463, // per softmax layer
            -74.1284, // per multiply-add on ReLU outputs
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 80, mean: 0.0547, within_10_percent: 0.8000, max: 0.2733 },
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
            0.0000, // per multiply-add on ReLU outputs
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 59, mean: 0.0615, within_10_percent: 0.7966, max: 0.1984 },
    },
];
