// A whole network, with its own input, used as a layer of another.
// expect: a whole network
// expect: kiln::layer<1, kiln::sequential<kiln::input<784>, kiln::linear<64>, kiln::relu>>
// fix: Group the layers without an input: `kiln::block<kiln::linear<64>, kiln::relu>`.
#include <kiln/kiln.hpp>

using encoder = kiln::sequential<kiln::input<784>, kiln::linear<64>, kiln::relu>;
using broken = kiln::sequential<kiln::input<784>, encoder, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
