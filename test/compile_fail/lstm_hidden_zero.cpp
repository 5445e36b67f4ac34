// An lstm with a state of zero values computes nothing.
// expect: a layer of size zero cannot work
// expect: kiln::layer<1, kiln::lstm<0>>
// fix: Give the lstm a state of at least one value (`kiln::lstm<32>`).
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<10, 3>, kiln::lstm<0>, kiln::last_step, kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
