// Written by `scripts/calibrate-cost.sh` (tests/examples/fit_cost.rs): do not edit by hand.
/// The instruction model of each core and kind, fitted to BENCH figures of the emulated
/// boards (see the module's documentation), with its error on held-out shapes.
pub const CALIBRATION: [Calibration; 4] = [
    Calibration {
        core: Core::CortexM4F,
        kind: ModelKind::F32,
        coefficients: [
            136.0205, // per inference
            64.0433, // per layer
            13.3410, // per block of 4 rows
            44.6161, // per block step
            11.5424, // per block tail input
            9.1297, // per single row
            5.0732, // per single-row step
            0.0000, // per single-row tail input
            29.3251, // per hidden unit
            33.1693, // per output
            3.4365, // per input
            -29.0182, // per linear unit
            -24.4082, // per relu unit
            -19.0817, // per leaky_relu unit
            30.8835, // per sigmoid unit
            58.6427, // per tanh unit
            45.4766, // per softmax unit
            -2.1754, // per softmax layer
            -0.0480, // per multiply-add on ReLU outputs
            0.0000, // per int8 table lookup
        ],
        stack_bytes: 452,
        held_out: HeldOut { shapes: 80, mean: 0.0268, within_10_percent: 1.0000, max: 0.0824 },
    },
    Calibration {
        core: Core::CortexM4F,
        kind: ModelKind::Int8,
        coefficients: [
            126.0400, // per inference
            71.1266, // per layer
            24.6041, // per block of 4 rows
            23.5343, // per block step
            21.2565, // per block tail input
            1.8337, // per single row
            10.2310, // per single-row step
            7.3120, // per single-row tail input
            39.0208, // per hidden unit
            61.2209, // per output
            24.1212, // per input
            -37.0313, // per linear unit
            0.0000, // per relu unit
            0.0000, // per leaky_relu unit
            34.4203, // per sigmoid unit
            52.9608, // per tanh unit
            10.8716, // per softmax unit
            40.0309, // per softmax layer
            0.0000, // per multiply-add on ReLU outputs
            -1.4891, // per int8 table lookup
        ],
        stack_bytes: 472,
        held_out: HeldOut { shapes: 71, mean: 0.0260, within_10_percent: 0.9859, max: 0.1071 },
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
            0.0000, // per int8 table lookup
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 80, mean: 0.0547, within_10_percent: 0.8000, max: 0.2733 },
    },
    Calibration {
        core: Core::CortexM0,
        kind: ModelKind::Int8,
        coefficients: [
            475.3417, // per inference
            94.2896, // per layer
            0.0000, // per block of 4 rows
            0.0000, // per block step
            0.0000, // per block tail input
            502.5362, // per single row
            28.9757, // per single-row step
            9.1888, // per single-row tail input
            -412.8277, // per hidden unit
            915.3538, // per output
            61.6822, // per input
            -1220.8310, // per linear unit
            0.0000, // per relu unit
            0.0000, // per leaky_relu unit
            767.6734, // per sigmoid unit
            1998.6161, // per tanh unit
            -630.1039, // per softmax unit
            110.6823, // per softmax layer
            0.0000, // per multiply-add on ReLU outputs
            2.0873, // per int8 table lookup
        ],
        stack_bytes: 396,
        held_out: HeldOut { shapes: 71, mean: 0.0556, within_10_percent: 0.8028, max: 0.2039 },
    },
];
