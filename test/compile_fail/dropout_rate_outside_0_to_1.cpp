// A dropout whose rate is 1: it would zero every entry and scale by infinity.
// expect: dropout's rate (the number in the type of 'Layer') is not in
// expect: kiln::layer<3, kiln::dropout<
// fix: Write a rate in [0, 1) (`kiln::dropout<0.5>`, PyTorch's default), or leave the layer out.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<8>, kiln::linear<16>, kiln::relu, kiln::dropout<1.0>,
                                kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
