// An input with a dimension of size zero.
// expect: kiln::input<...> has a dimension of size zero
// expect: kiln::shape<28, 0>
// fix: Give every dimension of the input a size of at least 1: `kiln::input<28, 28>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<28, 0>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
