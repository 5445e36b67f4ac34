// A network that starts with a layer instead of kiln::input.
// expect: kiln::sequential<...> must start with kiln::input<...> naming the shape of one example
// expect: sequential_must_start_with_input<kiln::linear<128>>
// fix: Name the shape of one example first: `kiln::sequential<kiln::input<784>, kiln::linear<128>,
// ...>`.
#include <kiln/kiln.hpp>

using broken = kiln::sequential<kiln::linear<128>, kiln::relu, kiln::linear<10>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
