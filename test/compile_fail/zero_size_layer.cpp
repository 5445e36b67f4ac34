// A layer of size zero: linear<0> at position 2.
// expect: a layer of size zero cannot work
// expect: kiln::layer<2, kiln::linear<0>>
// fix: Give every layer a size of at least 1: `kiln::linear<10>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<784>, kiln::linear<128>, kiln::linear<0>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
