// last_step after last_step: the first already took the sequence's last vector.
// expect: this layer reads a sequence (length x features) per example
// expect: kiln::layer<3, kiln::last_step>
// expect: kiln::shape<8>
// fix: Take the last step once (`kiln::gru<8>, kiln::last_step, kiln::linear<2>`).
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<5, 3>, kiln::gru<8>, kiln::last_step, kiln::last_step,
                                kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
