#pragma once
// The benchmarks' inputs: a batch of examples uniform in [0, 1) and labels uniform
// over the classes, the same from run to run (seed 1), as the peers in bench/peers/
// draw theirs.
#include <kiln/kiln.hpp>

#include <vector>

struct random_batch {
    kiln::aligned_buffer<float> images;
    std::vector<kiln::label_t> labels;
    random_batch(std::size_t batch, std::size_t example_size, std::size_t classes = 10)
        : images(batch * example_size), labels(batch) {
        kiln::rng random(1);
        for (std::size_t i = 0; i < images.size(); ++i)
            images[i] = static_cast<float>(random.uniform());
        for (auto& label : labels)
            label = static_cast<kiln::label_t>(random.below(classes));
    }
};
