// An evaluator of a network whose output is a (28, 10) map, not one vector of logits.
// No trainer has checked this network's output, so the evaluator must.
// expect: needs one vector per example
// expect: kiln::layer<1, kiln::linear<10>>
// expect: kiln::shape<28, 10>
// fix: Put `kiln::flatten` right before the first `kiln::linear`, as for training.
#include <kiln/kiln.hpp>

using no_flatten = kiln::sequential<kiln::input<28, 28>, kiln::linear<10>>;

int main() {
    kiln::evaluator<no_flatten> evaluator(100);
    (void)evaluator;
}
