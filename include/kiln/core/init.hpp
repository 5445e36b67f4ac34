#pragma once
// Initialization schemes. A layer with parameters draws them from a kiln::rng in
// a fixed order (its weights row by row, then its bias), so a seed fixes a model.
namespace kiln::init {

// Every weight and bias from N(mean, stddev): the course's N(0, 0.1).
struct normal {
    double mean = 0.0;
    double stddev = 0.1;
};

// PyTorch's nn.Linear default: weights and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
struct pytorch_default {};

// Keras's default for Dense and Conv layers (the course's TensorFlow notebooks):
// weights from U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)), biases zero.
// fan_out is the outputs one input reaches: a convolution's filters times its window.
struct glorot_uniform {};

} // namespace kiln::init
