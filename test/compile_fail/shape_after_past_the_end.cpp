// shape_after<4> asked of a network of three layers (the input is position 0).
// expect: the network has no layer at position 'Asked'
// expect: kiln::asked_position<4>
// expect: kiln::layers_in_network<3>
// fix: The output's shape is `mlp::shape_after<mlp::layer_count>` (here `shape_after<3>`), or
// `mlp::output_shape`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    float logits[10] = {};
    kiln::batch_view<mlp::shape_after<4>, float> out(logits, 1);
    (void)out;
}
