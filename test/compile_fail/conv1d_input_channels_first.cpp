// A two-channel sequence declared channels first, as PyTorch's Conv1d takes it.
// expect: conv1d reads a sequence as length x channels (channels last)
// expect: kiln::layer<1, kiln::conv1d<4, 5
// expect: kiln::shape<2, 50>
// expect: kiln::shape<50, 2>
// fix: Write the sequence channels last, `kiln::input<50, 2>`, and pass the data as length x
// channels.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::input<2, 50>, kiln::conv1d<4, 5>, kiln::relu, kiln::flatten,
                                kiln::linear<1>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
