// An evaluator for a CNN whose output is still an image (no flatten): it keeps the trainer's rules.
// expect: is the first kiln::linear to receive more than one axis
// expect: kiln::layer<4, kiln::linear<10>>
// expect: kiln::shape<11, 11, 10>
// fix: Put `kiln::flatten` before `kiln::linear<10>`, as the trainer would have said.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 28>, kiln::conv2d<64, 7>, kiln::relu,
                                kiln::max_pool2d<2>, kiln::linear<10>>;

int main() {
    kiln::evaluator<broken> scores(64);
    (void)scores;
}
