#pragma once
// What a fragment in the docs may use without declaring it. A fragment is a ```cpp
// block of docs/guide.md or docs/reference.md that is not a whole program:
// scripts/check_doc_snippets.py compiles it as a function body in namespace kiln_docs,
// after this header and the page's `cpp namespace-scope` blocks. A fragment's own
// declarations hide these (a fragment that makes its own `net` uses that one).
//
// The objects are declared, never defined: fragments are only type-checked.
#include <kiln/data/char_text.hpp>
#include <kiln/data/fashion_mnist.hpp>
#include <kiln/data/ood.hpp>
#include <kiln/io.hpp>
#include <kiln/train/kernel_perceptron.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

namespace kiln_docs {

// The course's MLP (docs/guide.md, section 1).
using mlp = kiln::sequential<kiln::input<28, 28>, kiln::flatten, kiln::linear<128>, kiln::relu,
                             kiln::linear<10>>;

extern kiln::rng random;                      // the run's one generator
extern kiln::model<mlp> net;                  // a model of mlp
extern kiln::trainer<mlp> train;              // training net
extern kiln::workspace<mlp> space;            // memory for forward passes of net
extern kiln::data::fashion_mnist<float> data; // the course's split (load_fashion_mnist)

// A mini-batch: its images, its labels, and the raw memory behind such views.
extern kiln::batch_view<kiln::shape<28, 28>, const float> images;
extern kiln::label_view<10> labels;
extern const float* pixels;            // 28 x 28 floats per example, one after another
extern const kiln::label_t* label_ids; // one class in [0, 10) per example

extern std::filesystem::path path; // a file to save to or load from

// A language model's mini-batch (docs/guide.md, section 7): 16 windows of 32 token
// ids, and the next id at each of their positions.
extern kiln::batch_view<kiln::shape<32>, const float> ids;
extern kiln::label_view<65, 32> next_ids;

} // namespace kiln_docs
