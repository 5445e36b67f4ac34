// conv1d given an image of 28 x 28 pixels and one channel (rank 3).
// expect: conv1d works on sequences (length, or length x channels)
// expect: kiln::layer<1, kiln::conv1d<8, 3
// expect: kiln::shape<28, 28, 1>
// fix: Slide a 2-D filter over an image (`kiln::conv2d<8, 3>`), or flatten it first to use
// conv1d along the pixels (`kiln::flatten, kiln::conv1d<8, 3>`).
#include <kiln/kiln.hpp>

using broken =
    kiln::sequential<kiln::input<28, 28, 1>, kiln::conv1d<8, 3>, kiln::flatten, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
