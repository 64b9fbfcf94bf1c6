// Runs a model dumped by dump.py through TensorFlow Lite Micro's reference int8 kernels, with the
// parameters each kernel's Prepare computes (TFLite Micro's default build: double rounding), and
// prints the dequantized outputs, one row per line. Built and run by tflm-reference.sh against a
// checkout of tflite-micro and gemmlowp: the independent reference of nn-core's `tflm` module.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tensorflow/lite/kernels/internal/quantization_util.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/add.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/logistic.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/mul.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/tanh.h"
#include "tensorflow/lite/kernels/internal/reference/quantize.h"
#include "tensorflow/lite/kernels/internal/reference/softmax.h"
#include "tensorflow/lite/kernels/internal/reference/sub.h"

using tflite::RuntimeShape;

struct Tensor {
  float scale;
  int zero_point;
};

// A two-dimensional shape (braces would pick RuntimeShape's (size, value) constructor).
static RuntimeShape shape2(int a, int b) {
  const int32_t dims[2] = {a, b};
  return RuntimeShape(2, dims);
}

static Tensor read_tensor(std::istream& in) {
  Tensor t;
  in >> t.scale >> t.zero_point;
  return t;
}

// One operator: what it does to the int8 vector.
struct Op {
  std::string name;
  Tensor a, b, out;
  std::vector<int8_t> constant;
  int fused = 0, outputs = 0, inputs = 0;
  std::vector<float> filter_scales;
  std::vector<int8_t> weights;
  std::vector<int32_t> bias;
  float beta = 1;
};

static int32_t activation_min(int fused, const Tensor& out) {
  return fused == 1 ? std::max(-128, out.zero_point) : -128;
}

int main() {
  std::string word, input_kind;
  Tensor input;
  std::cin >> word >> input_kind >> input.scale >> input.zero_point;
  std::vector<Op> ops;
  Tensor dequantize{1, 0};
  while (std::cin >> word && word != "ROWS") {
    Op op;
    op.name = word;
    if (word == "QUANTIZE") {
      op.out = read_tensor(std::cin);
    } else if (word == "SUB" || word == "ADD" || word == "MUL") {
      op.a = read_tensor(std::cin);
      op.b = read_tensor(std::cin);
      op.out = read_tensor(std::cin);
      int n;
      std::cin >> n;
      for (int i = 0; i < n; ++i) {
        int v;
        std::cin >> v;
        op.constant.push_back(v);
      }
    } else if (word == "FC") {
      op.a = read_tensor(std::cin);
      op.out = read_tensor(std::cin);
      int scales;
      std::cin >> op.fused >> op.outputs >> op.inputs >> scales;
      op.filter_scales.resize(scales);
      for (auto& s : op.filter_scales) std::cin >> s;
      op.weights.resize(op.outputs * op.inputs);
      for (auto& w : op.weights) {
        int v;
        std::cin >> v;
        w = v;
      }
      op.bias.resize(op.outputs);
      for (auto& b : op.bias) std::cin >> b;
    } else if (word == "LOGISTIC" || word == "TANH") {
      op.a = read_tensor(std::cin);
      op.out = read_tensor(std::cin);
    } else if (word == "SOFTMAX") {
      op.a = read_tensor(std::cin);
      std::cin >> op.beta;
      op.out = read_tensor(std::cin);
    } else if (word == "DEQUANTIZE") {
      dequantize = read_tensor(std::cin);
      continue;
    } else {
      std::cerr << "unknown operator " << word << "\n";
      return 1;
    }
    ops.push_back(op);
  }
  int rows, width;
  std::cin >> rows >> width;
  for (int r = 0; r < rows; ++r) {
    std::vector<float> x(width);
    for (auto& v : x) std::cin >> v;
    std::vector<int8_t> q(width);
    if (input_kind == "int8") {
      // The caller quantizes an int8 input as TFLite's QUANTIZE does.
      tflite::QuantizationParams p{input.zero_point, input.scale};
      tflite::reference_ops::AffineQuantize(p, shape2(1, width), x.data(), shape2(1, width),
                                            q.data());
    }
    for (const Op& op : ops) {
      const int n = static_cast<int>(q.size());
      RuntimeShape shape = shape2(1, n);
      std::vector<int8_t> y(n);
      if (op.name == "QUANTIZE") {
        tflite::QuantizationParams p{op.out.zero_point, op.out.scale};
        tflite::reference_ops::AffineQuantize(p, shape, x.data(), shape, y.data());
      } else if (op.name == "SUB" || op.name == "ADD") {
        // TFLite Micro's sub_common.cc / add_common.cc Prepare.
        tflite::ArithmeticParams p{};
        p.input1_offset = -op.a.zero_point;
        p.input2_offset = -op.b.zero_point;
        p.output_offset = op.out.zero_point;
        p.left_shift = 20;
        double m1, m2, mo;
        if (op.name == "SUB") {
          const float twice_max = 2 * std::max(op.a.scale, op.b.scale);
          m1 = static_cast<double>(op.a.scale / twice_max);
          m2 = static_cast<double>(op.b.scale / twice_max);
          mo = static_cast<double>(twice_max / ((1 << p.left_shift) * op.out.scale));
        } else {
          const double twice_max = 2 * static_cast<double>(std::max(op.a.scale, op.b.scale));
          m1 = static_cast<double>(op.a.scale) / twice_max;
          m2 = static_cast<double>(op.b.scale) / twice_max;
          mo = twice_max / ((1 << p.left_shift) * static_cast<double>(op.out.scale));
        }
        tflite::QuantizeMultiplierSmallerThanOneExp(m1, &p.input1_multiplier, &p.input1_shift);
        tflite::QuantizeMultiplierSmallerThanOneExp(m2, &p.input2_multiplier, &p.input2_shift);
        tflite::QuantizeMultiplierSmallerThanOneExp(mo, &p.output_multiplier, &p.output_shift);
        p.quantized_activation_min = -128;
        p.quantized_activation_max = 127;
        std::vector<int8_t> c(n);
        for (int i = 0; i < n; ++i) c[i] = op.constant[op.constant.size() == 1 ? 0 : i];
        if (op.name == "SUB") {
          tflite::reference_ops::Sub(p, shape, q.data(), shape, c.data(), shape, y.data());
        } else {
          tflite::reference_integer_ops::Add(p, shape, q.data(), shape, c.data(), shape, y.data());
        }
      } else if (op.name == "MUL") {
        tflite::ArithmeticParams p{};
        p.input1_offset = -op.a.zero_point;
        p.input2_offset = -op.b.zero_point;
        p.output_offset = op.out.zero_point;
        const double real = static_cast<double>(op.a.scale) * static_cast<double>(op.b.scale) /
                            static_cast<double>(op.out.scale);
        tflite::QuantizeMultiplier(real, &p.output_multiplier, &p.output_shift);
        p.quantized_activation_min = -128;
        p.quantized_activation_max = 127;
        std::vector<int8_t> c(n);
        for (int i = 0; i < n; ++i) c[i] = op.constant[op.constant.size() == 1 ? 0 : i];
        tflite::reference_integer_ops::Mul(p, shape, q.data(), shape, c.data(), shape, y.data());
      } else if (op.name == "FC") {
        // TFLite Micro's fully_connected_common.cc Prepare.
        y.assign(op.outputs, 0);
        tflite::FullyConnectedParams p{};
        p.input_offset = -op.a.zero_point;
        p.weights_offset = 0;
        p.output_offset = op.out.zero_point;
        p.quantized_activation_min = activation_min(op.fused, op.out);
        p.quantized_activation_max = 127;
        RuntimeShape in_shape = shape2(1, op.inputs), filter = shape2(op.outputs, op.inputs),
                     bias = RuntimeShape(1, op.outputs), out_shape = shape2(1, op.outputs);
        if (op.filter_scales.size() > 1) {
          std::vector<int32_t> multipliers(op.outputs);
          std::vector<int> shifts(op.outputs);
          for (int o = 0; o < op.outputs; ++o) {
            const double real = static_cast<double>(op.a.scale) * static_cast<double>(op.filter_scales[o]) /
                                static_cast<double>(op.out.scale);
            tflite::QuantizeMultiplier(real, &multipliers[o], &shifts[o]);
          }
          tflite::reference_integer_ops::FullyConnectedPerChannel(p, multipliers.data(), shifts.data(), in_shape,
                                                                  q.data(), filter, op.weights.data(), bias,
                                                                  op.bias.data(), out_shape, y.data());
        } else {
          const double product = static_cast<double>(op.a.scale) * static_cast<double>(op.filter_scales[0]);
          tflite::QuantizeMultiplier(product / static_cast<double>(op.out.scale), &p.output_multiplier,
                                     &p.output_shift);
          tflite::reference_integer_ops::FullyConnected(p, in_shape, q.data(), filter, op.weights.data(), bias,
                                                        op.bias.data(), out_shape, y.data());
        }
      } else if (op.name == "LOGISTIC" || op.name == "TANH") {
        // TFLite Micro's logistic_common.cc / tanh.cc Prepare.
        const double real = static_cast<double>(op.a.scale) * static_cast<double>(1 << (31 - 4));
        int left_shift;
        const double fraction = std::frexp(real, &left_shift);
        const int32_t multiplier = static_cast<int32_t>(std::round(fraction * (1ll << 31)));
        const int radius = tflite::CalculateInputRadius(4, left_shift, 31);
        if (op.name == "LOGISTIC") {
          tflite::reference_integer_ops::Logistic(op.a.zero_point, radius, multiplier, left_shift, n, q.data(),
                                                  y.data());
        } else {
          tflite::reference_integer_ops::Tanh(op.a.zero_point, radius, multiplier, left_shift, shape, q.data(),
                                              shape, y.data());
        }
      } else if (op.name == "SOFTMAX") {
        // TFLite Micro's softmax_common.cc Prepare.
        tflite::SoftmaxParams p{};
        int left_shift;
        tflite::PreprocessSoftmaxScaling(static_cast<double>(op.beta), static_cast<double>(op.a.scale), 5,
                                         &p.input_multiplier, &left_shift);
        p.input_left_shift = left_shift;
        p.diff_min = -1.0 * tflite::CalculateInputRadius(5, left_shift);
        tflite::reference_ops::Softmax(p, shape, q.data(), shape, y.data());
      }
      q = y;
    }
    for (size_t i = 0; i < q.size(); ++i) {
      const float v = static_cast<float>(static_cast<double>(dequantize.scale) * (q[i] - dequantize.zero_point));
      std::printf("%s%.9g", i ? " " : "", v);
    }
    std::printf("\n");
  }
  return 0;
}
