// A type that is not a layer where a layer belongs.
// expect: is not a layer
// expect: kiln::layer<2, scale_by_two>
// fix: Give the type the layer contract (include/kiln/layers/layer.hpp) or use a kiln layer.
#include <kiln/kiln.hpp>

struct scale_by_two {};

using broken = kiln::sequential<kiln::input<4>, kiln::linear<8>, scale_by_two, kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
