// A model of a single layer spec instead of a network.
// expect: kiln::model<Net, T> needs a network declared as kiln::sequential
// expect: model_needs_a_sequential_network<kiln::linear<10>>
// fix: Declare the network first and make the model of it:
// `kiln::model<kiln::sequential<kiln::input<784>, kiln::linear<10>>>`.
#include <kiln/kiln.hpp>

int main() {
    kiln::model<kiln::linear<10>> net;
    (void)net;
}
