// A gru after flatten: a vector has no steps to run through.
// expect: this layer reads a sequence (length x features) per example
// expect: kiln::layer<2, kiln::gru<16>>
// expect: kiln::shape<12>
// fix: Give the recurrent layer the sequence itself (`kiln::input<4, 3>, kiln::gru<16>`),
// and flatten or take kiln::last_step after it.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<4, 3>, kiln::flatten, kiln::gru<16>, kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
