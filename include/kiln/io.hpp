#pragma once
// Saving and loading: models and whole training states in checkpoint files
// (docs/checkpoints.md), written atomically.
#include "kiln/io/atomic_file.hpp"
#include "kiln/io/checkpoint_error.hpp"
#include "kiln/io/checkpoint_file.hpp"
#include "kiln/io/little_endian.hpp"
#include "kiln/io/regular_file.hpp"
#include "kiln/kiln.hpp"
#include "kiln/train/checkpoint.hpp"
