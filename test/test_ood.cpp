// The out-of-distribution transforms (data/ood.hpp) on small images whose
// results numpy gives: np.rot90(m, k) and a shift up with zero rows entering.
#include <kiln/data/ood.hpp>

#include <doctest/doctest.h>

#include <type_traits>
#include <vector>

namespace {

// A set of one 2 x 3 image, [[1, 2, 3], [4, 5, 6]], labelled 7, and a second one
// of the same values times 10, labelled 2.
kiln::data::labeled_set<kiln::shape<2, 3>, 10, float> two_images() {
    kiln::data::labeled_set<kiln::shape<2, 3>, 10, float> set(2);
    for (std::size_t i = 0; i < 6; ++i) {
        set.mutable_inputs()[0][i] = static_cast<float>(i + 1);
        set.mutable_inputs()[1][i] = static_cast<float>(10 * (i + 1));
    }
    set.mutable_labels()[0] = 7;
    set.mutable_labels()[1] = 2;
    return set;
}

template <class Set>
std::vector<float> image(const Set& set, std::size_t n) {
    const auto values = set.inputs()[n];
    return {values.begin(), values.end()};
}

} // namespace

TEST_SUITE("data") {
    TEST_CASE("rot90 turns counter-clockwise as numpy.rot90 does, labels kept") {
        const auto set = two_images();
        // np.rot90([[1, 2, 3], [4, 5, 6]], k) for k = 1, 2, 3.
        const auto once = kiln::data::rot90<1>(set);
        static_assert(std::is_same_v<decltype(once)::shape_type, kiln::shape<3, 2>>);
        CHECK(image(once, 0) == std::vector<float>{3, 6, 2, 5, 1, 4});
        CHECK(image(once, 1) == std::vector<float>{30, 60, 20, 50, 10, 40});
        const auto twice = kiln::data::rot90<2>(set);
        static_assert(std::is_same_v<decltype(twice)::shape_type, kiln::shape<2, 3>>);
        CHECK(image(twice, 0) == std::vector<float>{6, 5, 4, 3, 2, 1});
        const auto thrice = kiln::data::rot90<3>(set);
        CHECK(image(thrice, 0) == std::vector<float>{4, 1, 5, 2, 6, 3});
        for (const auto& labels : {once.labels(), thrice.labels()}) {
            CHECK(labels[0] == 7);
            CHECK(labels[1] == 2);
        }
        CHECK(twice.labels()[1] == 2);
        // Four turns, as two and two, give the image back.
        CHECK(image(kiln::data::rot90<2>(twice), 1) == image(set, 1));
    }

    TEST_CASE("shifted_up moves rows up and lets zero rows in at the bottom") {
        kiln::data::labeled_set<kiln::shape<3, 2>, 10, double> set(1);
        for (std::size_t i = 0; i < 6; ++i)
            set.mutable_inputs()[0][i] = static_cast<double>(i + 1); // [[1, 2], [3, 4], [5, 6]]
        set.mutable_labels()[0] = 4;
        auto values = [](const auto& s) {
            const auto v = s.inputs()[0];
            return std::vector<double>(v.begin(), v.end());
        };
        CHECK(values(kiln::data::shifted_up(set, 1)) == std::vector<double>{3, 4, 5, 6, 0, 0});
        CHECK(values(kiln::data::shifted_up(set, 0)) == values(set));
        CHECK(values(kiln::data::shifted_up(set, 3)) == std::vector<double>(6, 0.0));
        CHECK(values(kiln::data::shifted_up(set, 9)) == std::vector<double>(6, 0.0));
        CHECK(kiln::data::shifted_up(set, 1).labels()[0] == 4);
    }

    TEST_CASE("a 28 x 28 image shifted up by 4: row i is row i + 4, the last 4 rows are zero") {
        std::vector<float> in(28 * 28), out(28 * 28, -1.f);
        for (std::size_t i = 0; i < in.size(); ++i)
            in[i] = static_cast<float>(i);
        kiln::data::shift_up(in.data(), out.data(), 28, 28, 4);
        for (std::size_t i = 0; i < 28; ++i)
            for (std::size_t j = 0; j < 28; ++j)
                REQUIRE(out[i * 28 + j] == (i < 24 ? in[(i + 4) * 28 + j] : 0.f));
    }
}
