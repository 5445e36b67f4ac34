// A model whose scalar type is int.
// expect: the scalar type of a model must be float (for speed) or double (for gradient checks)
// expect: scalar_must_be_float_or_double<int>
// fix: Use `kiln::model<mlp>` (float) or `kiln::model<mlp, double>`.
#include <kiln/kiln.hpp>

using mlp = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<mlp, int> net;
    (void)net;
}
