// A user's layer that forgot its backward pass.
// expect: breaks the layer contract
// expect: kiln::layer<2, doubler>
// expect: kiln::member::backward_input
// fix: Give the bound layer backward_input(params, x, y, dy, dx, batch, share).
#include <kiln/kiln.hpp>

struct doubler {
    static std::string name() { return "doubler"; }
    template <class In, std::size_t Position, class Previous = kiln::no_layer,
              class Next = kiln::no_layer>
    struct bind : kiln::parameterless_layer<doubler, In, In, Position> {
        template <class T>
        static void forward(const T*, const T* x, T* y, std::size_t batch,
                            kiln::work_share = {}) noexcept {
            for (std::size_t i = 0; i < batch * In::size; ++i)
                y[i] = 2 * x[i];
        }
    };
};

using broken = kiln::sequential<kiln::input<4>, kiln::linear<8>, doubler, kiln::linear<2>>;

int main() {
    kiln::model<broken> net;
    (void)net;
}
