// An ELU whose alpha is negative.
// expect: elu's alpha (the number in the type of 'Layer') is negative
// expect: kiln::layer<2, kiln::elu<
// fix: Write an alpha >= 0 (`kiln::elu<1.0>`, PyTorch's default), or `kiln::leaky_relu<Slope>`
// for a negative slope.
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<8>, kiln::linear<16>, kiln::elu<-0.5>, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
