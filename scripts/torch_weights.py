#!/usr/bin/python3
"""Weights from PyTorch to kiln and back, for any kiln network whose layers name
their parameters (linear, conv1d, conv2d, depthwise_conv2d, conv_transpose2d,
layer_norm, batch_norm, embedding, add_position, causal_self_attention, prelu, and
composites of them). batch_norm's running statistics are in kiln's table
(running_mean, running_var) and go both ways; PyTorch's num_batches_tracked, which
kiln does not count (it matters to PyTorch only with momentum=None), is written as
0 and skipped when read.

kiln's checkpoint format is described in docs/checkpoints.md and
include/kiln/io/checkpoint_file.hpp. A model file holds kiln's flat parameter
buffer ("parameters") and the table of its tensors ("parameters.parts", written
by kiln::parameter_table in include/kiln/graph/parameter_table.hpp): for each
tensor its key in a PyTorch nn.Sequential that mirrors the network layer for
layer ("1.weight"), its offset in the buffer, its shape as PyTorch writes it and
the order kiln stores its axes in (a linear's weight is stored transposed).
This script reads and writes the buffer by that table alone.

Usage (Debian: apt-get install python3-torch):
    scripts/torch_weights.py to-torch IN.kiln OUT.pt
    scripts/torch_weights.py to-kiln  MODEL.pt OUT.kiln --like KILN_FILE
    scripts/torch_weights.py to-kiln  MODEL.pt OUT.kiln [--input 28x28] [--double]
    scripts/torch_weights.py fixture  [DIR]   # regenerate test/fixtures/torch_mlp_12_8_5.*
    scripts/torch_weights.py selftest          # round trips (exit 77 without torch,
                                               # 1 with KILN_REQUIRE_TORCH=1)

to-torch writes a state_dict keyed by the table. to-kiln --like takes the
network, scalar type and table from a model file of the same network that kiln
saved (kiln::save_model of a freshly initialized model will do) and fills its
parameters from MODEL.pt: by key when the state_dict has every key of the table,
else tensor by tensor in order, each shape checked (integer buffers such as
num_batches_tracked are skipped). MODEL.pt is a state_dict
(torch.save(model.state_dict(), path)), loaded with torch.load(weights_only=True):
a .pt file is a pickle, and unpickling anything but tensors can run code, so a
file that holds more (a whole nn.Module, or a crafted object) is refused, and so
is a torch too old to load weights alone (before 1.13). Every file the script
reads must be a regular file (a FIFO or a device is refused before it is read);
every file it writes is written as kiln writes: to a temporary file created
exclusively beside it, then renamed over it (a symbolic link there is replaced,
not followed).

Without --like, MODEL.pt is an MLP: its nn.Linear layers in order, each followed
by a ReLU except the last. --input gives the shape of one example as kiln sees
it: 784 (the default: the first layer's inputs) declares kiln::input<784>;
28x28 declares kiln::input<28, 28> followed by kiln::flatten, as
examples/mlp.cpp does.

The kiln side of this script needs nothing beyond the standard library, so
fuzz/make_seeds.py can use it without torch.
"""

import io
import os
import stat
import struct
import sys
import tempfile
import zlib

MAGIC = b"KILNCKPT"
FORMAT_VERSION = 1
FLOAT32, FLOAT64, UINT64, TEXT = 1, 2, 3, 4
ELEMENT_SIZE = {FLOAT32: 4, FLOAT64: 8, UINT64: 8, TEXT: 1}
ELEMENT_CODE = {FLOAT32: "f", FLOAT64: "d", UINT64: "Q"}
SLICE_ALIGNMENT = 16  # scalars: kiln's padded_count (a 64-byte line of float)


def padded(count):
    return (count + SLICE_ALIGNMENT - 1) // SLICE_ALIGNMENT * SLICE_ALIGNMENT


# --- The table of a network's tensors (kiln::parameter_table) -------------------

PARTS = "parameters.parts"


class Tensor:
    """One line of the table: key, offset, PyTorch's shape, kiln's axis order, layer."""

    def __init__(self, key, offset, shape, stored_as, layer):
        self.key, self.offset, self.shape, self.stored_as, self.layer = \
            key, offset, shape, stored_as, layer

    @property
    def count(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def line(self):
        return (f"{self.key}\t{self.offset}\t{'x'.join(map(str, self.shape))}\t"
                f"{','.join(map(str, self.stored_as))}\t{self.layer}\n")


def parse_table(text, storage_size):
    tensors, end = [], 0
    for line in text.splitlines():
        fields = line.split("\t")
        try:
            key, offset, shape, stored_as, layer = fields
            tensor = Tensor(key, int(offset), [int(d) for d in shape.split("x")],
                            [int(a) for a in stored_as.split(",")], layer)
        except ValueError:
            raise ValueError(f"the parameter table has a line that is not "
                             f"KEY OFFSET SHAPE STORED_AS LAYER: {line!r}") from None
        if sorted(tensor.stored_as) != list(range(len(tensor.shape))) or \
                min(tensor.shape) <= 0 or tensor.offset < end:
            raise ValueError(f"the parameter table's line for {key} is inconsistent: {line!r}")
        end = tensor.offset + tensor.count
        tensors.append(tensor)
    if end > storage_size:
        raise ValueError(f"the parameter table reaches scalar {end}, the buffer holds "
                         f"{storage_size}")
    return tensors


# --- MLPs: input<dims...> [flatten] (linear, relu)* linear --------------------------

def signature(input_dims, sizes):
    """kiln::network_signature of input<dims...> [flatten] (linear, relu)* linear."""
    dims = ", ".join(str(d) for d in input_dims)
    entries = [f"input<{dims}> ({dims})"]
    if len(input_dims) > 1:
        entries.append(f"flatten ({sizes[0][0]})")
    for k, (n_in, n_out) in enumerate(sizes):
        entries.append(f"linear<{n_out}> ({n_out}) [{n_in * n_out + n_out}]")
        if k + 1 < len(sizes):
            entries.append(f"relu ({n_out})")
    return " -> ".join(entries)


def mlp_table(input_dims, sizes):
    """The table kiln writes for an MLP, and the buffer's size."""
    tensors, at = [], 0
    first = 2 if len(input_dims) > 1 else 1  # the flatten comes first
    for k, (n_in, n_out) in enumerate(sizes):
        position = first + 2 * k
        layer = f"layer {position} (linear<{n_out}>)"
        bias_offset = at + padded(n_in * n_out)
        tensors.append(Tensor(f"{position - 1}.weight", at, [n_out, n_in], [1, 0], layer))
        tensors.append(Tensor(f"{position - 1}.bias", bias_offset, [n_out], [0], layer))
        at = bias_offset + padded(n_out)
    return tensors, at


def parse_signature(text):
    """The input dims and linear sizes of an MLP's signature."""
    entries = text.split(" -> ")
    head = entries[0]
    if not head.startswith("input<"):
        raise ValueError(f"the signature does not start with an input: {head!r}")
    input_dims = [int(d) for d in head[len("input<"):head.index(">")].split(",")]
    width = 1
    for d in input_dims:
        width *= d
    sizes = []
    for entry in entries[1:]:
        name = entry.split(" ")[0]
        if name.startswith("linear<"):
            n_out = int(name[len("linear<"):-1])
            sizes.append((width, n_out))
            width = n_out
        elif name not in ("flatten", "relu"):
            raise ValueError(f"layer {entry!r}: a file without a parameter table "
                             f"(written before kiln had one) can be an MLP only")
    if signature(input_dims, sizes) != text:
        raise ValueError(f"not a (flatten) linear-relu-...-linear network: {text!r}")
    return input_dims, sizes


# --- kiln checkpoint files ------------------------------------------------------

def encode_checkpoint(sig, scalar, param_count, storage_size, sections):
    """sections: list of (name, element type, list of values or bytes for TEXT)."""
    body = bytearray()
    body += MAGIC + struct.pack("<IIQ", FORMAT_VERSION, 0, 0)
    body += struct.pack("<IIQQ", scalar, 0, param_count, storage_size)
    sig_bytes = sig.encode()
    body += struct.pack("<I", len(sig_bytes)) + sig_bytes
    body += struct.pack("<I", len(sections))
    for name, element, values in sections:
        name_bytes = name.encode()
        body += struct.pack("<H", len(name_bytes)) + name_bytes
        body += struct.pack("<BQ", element, len(values))
        body += bytes(values) if element == TEXT else \
            struct.pack(f"<{len(values)}{ELEMENT_CODE[element]}", *values)
    struct.pack_into("<Q", body, 16, len(body) + 4)
    return bytes(body) + struct.pack("<I", zlib.crc32(body))


def decode_checkpoint(data, name="checkpoint"):
    """(header dict, {section name: (element, values)}); raises ValueError."""
    if data[:8] != MAGIC:
        raise ValueError(f"{name}: not a kiln checkpoint")
    if len(data) < 28:
        raise ValueError(f"{name}: truncated")
    version, flags, size = struct.unpack_from("<IIQ", data, 8)
    if size != len(data):
        raise ValueError(f"{name}: truncated or corrupt: {len(data)} bytes, the header says {size}")
    if zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise ValueError(f"{name}: corrupt: the CRC-32 checksum does not match")
    if version != FORMAT_VERSION:
        raise ValueError(f"{name}: format version {version}, this script reads {FORMAT_VERSION}")
    scalar, _, param_count, storage_size, sig_size = struct.unpack_from("<IIQQI", data, 24)
    at = 52
    sig = data[at:at + sig_size].decode()
    at += sig_size
    (count,) = struct.unpack_from("<I", data, at)
    at += 4
    sections = {}
    for _ in range(count):
        (name_size,) = struct.unpack_from("<H", data, at)
        section = data[at + 2:at + 2 + name_size].decode()
        at += 2 + name_size
        element, values = struct.unpack_from("<BQ", data, at)
        at += 9
        raw = data[at:at + values * ELEMENT_SIZE[element]]
        at += values * ELEMENT_SIZE[element]
        sections[section] = (element, raw if element == TEXT else
                             list(struct.unpack(f"<{values}{ELEMENT_CODE[element]}", raw)))
    header = {"signature": sig, "scalar": scalar, "param_count": param_count,
              "storage_size": storage_size}
    return header, sections


def mlp_checkpoint(input_dims, layers, scalar=FLOAT32):
    """A kiln model file of an MLP. layers: (W as rows [out][in], b) in torch's layout."""
    sizes = [(len(w[0]), len(w)) for w, _ in layers]
    if input_dims is None:
        input_dims = [sizes[0][0]]
    width = 1
    for d in input_dims:
        width *= d
    if width != sizes[0][0]:
        raise ValueError(f"--input {'x'.join(map(str, input_dims))} holds {width} values, "
                         f"the first layer takes {sizes[0][0]}")
    for (_, out_before), (n_in, _) in zip(sizes, sizes[1:]):
        if out_before != n_in:
            raise ValueError(f"a layer with {out_before} outputs is followed by one "
                             f"taking {n_in} inputs")
    tensors, storage = mlp_table(input_dims, sizes)
    flat = [0.0] * storage
    for (weight, bias), (w, b), (n_in, n_out) in zip(zip(tensors[::2], tensors[1::2]), layers,
                                                     sizes):
        for i in range(n_in):
            for o in range(n_out):
                flat[weight.offset + i * n_out + o] = w[o][i]  # kiln W[i][o] = weight[o][i]
        flat[bias.offset:bias.offset + n_out] = b
    param_count = sum(n_in * n_out + n_out for n_in, n_out in sizes)
    return model_file(signature(input_dims, sizes), scalar, param_count, storage, tensors, flat)


def model_file(sig, scalar, param_count, storage_size, tensors, flat):
    table = "".join(t.line() for t in tensors).encode()
    return encode_checkpoint(sig, scalar, param_count, storage_size,
                             [("parameters", scalar, flat), (PARTS, TEXT, table)])


def read_model(data, name="checkpoint"):
    """(header, table, flat buffer) of a kiln model file; a file without a table is
    read as the MLP its signature names."""
    header, sections = decode_checkpoint(data, name)
    if "parameters" not in sections:
        raise ValueError(f"{name}: not a model file: it has no section 'parameters'")
    element, flat = sections["parameters"]
    if element not in (FLOAT32, FLOAT64) or len(flat) != header["storage_size"]:
        raise ValueError(f"{name}: section 'parameters' holds {len(flat)} values, the header "
                         f"says {header['storage_size']}")
    if PARTS in sections:
        tensors = parse_table(sections[PARTS][1].decode(), header["storage_size"])
    else:
        tensors, storage = mlp_table(*parse_signature(header["signature"]))
        if storage != header["storage_size"]:
            raise ValueError(f"{name}: {header['storage_size']} parameters stored, the "
                             f"layout needs {storage}")
    return header, tensors, flat


# --- PyTorch --------------------------------------------------------------------

def torch_layers(state):
    """The (weight, bias) pairs of a state_dict's Linear layers, in module order."""
    import torch
    weights = [k for k, v in state.items() if k.endswith("weight") and v.dim() == 2]
    weights.sort(key=lambda k: [int(p) if p.isdigit() else p for p in k.split(".")])
    layers = []
    for key in weights:
        bias = key[:-len("weight")] + "bias"
        if bias not in state:
            raise ValueError(f"{key} has no bias ({bias}): kiln's linear has one")
        w = state[key].detach().to(torch.float64)
        layers.append((w.tolist(), state[bias].detach().to(torch.float64).tolist()))
    if not layers:
        raise ValueError("no nn.Linear weights in the state_dict")
    return layers


def torch_mlp(sizes, dtype):
    from torch import nn
    modules = []
    for k, (n_in, n_out) in enumerate(sizes):
        modules.append(nn.Linear(n_in, n_out))
        if k + 1 < len(sizes):
            modules.append(nn.ReLU())
    return nn.Sequential(*modules).to(dtype)


def load_torch(path):
    """A state_dict from a .pt file, loaded without unpickling code."""
    import inspect
    import pickle
    import torch
    if "weights_only" not in inspect.signature(torch.load).parameters:
        raise ValueError(f"{path}: torch {torch.__version__} cannot load weights without "
                         f"unpickling code (torch.load(weights_only=True) needs torch 1.13): "
                         f"refused")
    data = read_regular_file(path, "a PyTorch weights file")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        why = str(error).split("WeightsUnpickler error: ")[-1].strip()
        raise ValueError(f"{path}: holds more than tensors ({why}); this script loads weights "
                         f"only, never code: save model.state_dict(), not the model") from None
    except (RuntimeError, EOFError) as error:
        raise ValueError(f"{path}: not a PyTorch file torch.load can read "
                         f"({str(error).splitlines()[0] if str(error) else type(error).__name__})"
                         ) from None
    if not isinstance(state, dict) or \
            not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: holds a {type(state).__name__}, not a state_dict of tensors")
    return state


def to_state_dict(tensors, flat, dtype):
    """{key: tensor in PyTorch's layout} of a kiln buffer."""
    import torch
    state = {}
    for t in tensors:
        stored = torch.tensor(flat[t.offset:t.offset + t.count], dtype=dtype)
        stored = stored.reshape([t.shape[axis] for axis in t.stored_as])
        inverse = [t.stored_as.index(axis) for axis in range(len(t.shape))]
        state[t.key] = stored.permute(inverse).contiguous()
        if t.key.endswith("running_var"):  # PyTorch's BatchNorm loads strictly with it
            state[t.key[:-len("running_var")] + "num_batches_tracked"] = \
                torch.tensor(0, dtype=torch.long)
    return state


def matched(tensors, state):
    """The state_dict's tensor for each line of the table: by key when every key is
    there, else in order; shapes checked."""
    params = {k: v for k, v in state.items()
              if v.is_floating_point() and not k.endswith("num_batches_tracked")}
    if all(t.key in params for t in tensors):
        pairs = [(t.key, params[t.key]) for t in tensors]
    elif len(params) == len(tensors):
        pairs = list(params.items())
    else:
        raise ValueError(f"the state_dict has {len(params)} parameter tensors, the kiln "
                         f"network {len(tensors)} ({', '.join(t.key for t in tensors)}), and "
                         f"not every key of the network")
    for (name, value), t in zip(pairs, tensors):
        if list(value.shape) != t.shape:
            raise ValueError(f"{name} has shape {'x'.join(map(str, value.shape))}, kiln's "
                             f"{t.key} ({t.layer}) is {'x'.join(map(str, t.shape))}")
    return [value for _, value in pairs]


def require_finite(values, what):
    """Refuses a NaN or an infinity (also one that float32 made of a large float64):
    kiln would refuse the file, and PyTorch would train on it silently."""
    import math
    for index, value in enumerate(values):
        if not math.isfinite(value):
            raise ValueError(f"{what} holds {value} at index {index}: weights must be finite")


# --- Commands ---------------------------------------------------------------------

def command_to_kiln(args):
    import torch
    source, target = args[0], args[1]
    input_dims, like, scalar = None, None, FLOAT32
    rest = args[2:]
    while rest:
        if rest[0] in ("--input", "--like") and len(rest) > 1:
            if rest[0] == "--input":
                input_dims = [int(d) for d in rest[1].split("x")]
            else:
                like = rest[1]
            rest = rest[2:]
        elif rest[0] == "--double":
            scalar, rest = FLOAT64, rest[1:]
        else:
            raise SystemExit(f"torch_weights.py: unknown argument {rest[0]!r}")
    state = load_torch(source)
    if like is None:
        layers = torch_layers(state)
        if scalar == FLOAT32:  # values exactly as float32 holds them
            layers = [(torch.tensor(w, dtype=torch.float32).tolist(),
                       torch.tensor(b, dtype=torch.float32).tolist()) for w, b in layers]
        for k, (w, b) in enumerate(layers):
            require_finite([v for row in w for v in row], f"{source}: linear layer {k + 1}'s weight")
            require_finite(b, f"{source}: linear layer {k + 1}'s bias")
        write_bytes(target, mlp_checkpoint(input_dims, layers, scalar))
    else:
        if input_dims is not None or scalar != FLOAT32:
            raise SystemExit("torch_weights.py: --like takes the network and the scalar "
                             "type from its file: --input and --double do not go with it")
        header, tensors, _ = read_model(read_regular_file(like, "a kiln model file"), like)
        dtype = torch.float32 if header["scalar"] == FLOAT32 else torch.float64
        flat = [0.0] * header["storage_size"]
        for t, value in zip(tensors, matched(tensors, state)):
            values = value.detach().to(dtype).permute(t.stored_as).reshape(-1).tolist()
            require_finite(values, f"{source}: {t.key}")
            flat[t.offset:t.offset + t.count] = values
        write_bytes(target, model_file(header["signature"], header["scalar"],
                                       header["param_count"], header["storage_size"], tensors,
                                       flat))
    print(f"wrote {target}")


def command_to_torch(args):
    import torch
    source, target = args
    header, tensors, flat = read_model(read_regular_file(source, "a kiln model file"), source)
    for t in tensors:
        require_finite(flat[t.offset:t.offset + t.count], f"{source}: {t.key} ({t.layer})")
    dtype = torch.float32 if header["scalar"] == FLOAT32 else torch.float64
    saved = io.BytesIO()
    torch.save(to_state_dict(tensors, flat, dtype), saved)
    write_bytes(target, saved.getvalue())
    print(f"wrote {target}")


def read_regular_file(path, what):
    """The bytes of path, refused unless it is a regular file: a FIFO would block
    the reader, a device never end. The check is made on the opened descriptor
    (O_NONBLOCK lets a FIFO's open return) before a byte is read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = ("a directory" if stat.S_ISDIR(mode) else
                    "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
                    "a character device" if stat.S_ISCHR(mode) else
                    "a block device" if stat.S_ISBLK(mode) else
                    "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
            raise ValueError(f"{path}: is {kind}, not {what}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f:
            fd = None  # the file object closes it
            return f.read()
    finally:
        if fd is not None:
            os.close(fd)


def write_bytes(path, data):
    """As kiln writes (include/kiln/io/atomic_file.hpp): a temporary file created
    exclusively beside the target under a name nobody can know in advance, flushed,
    then renamed over the target; a failure leaves the target as it was and removes
    the temporary file."""
    folder, name = os.path.split(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"cannot write {path}, which names a folder")
    fd, temporary = tempfile.mkstemp(prefix=f".{name[:160]}.tmp-{os.getpid()}-", dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as a file open() makes, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        os.unlink(temporary)
        raise


FIXTURE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                            "test", "fixtures"))
FIXTURE_SIZES = [(12, 8), (8, 5)]
FIXTURE_BATCH = 3


def fixture_inputs():
    """The inputs of the fixture, float32 values given by a formula."""
    import math
    import torch
    return torch.tensor([[0.5 + 0.5 * math.sin(0.3 * i + 1.1 * b) for i in range(12)]
                         for b in range(FIXTURE_BATCH)], dtype=torch.float32)


def command_fixture(args):
    """test/fixtures/torch_mlp_12_8_5.kiln: a torch-initialized 12-8-5 MLP in kiln's
    format; .txt: its inputs and torch's logits in float32 and float64."""
    import torch
    out_dir = args[0] if args else FIXTURE_DIR
    torch.manual_seed(2024)
    model = torch_mlp(FIXTURE_SIZES, torch.float32)
    layers = torch_layers(model.state_dict())
    write_bytes(os.path.join(out_dir, "torch_mlp_12_8_5.kiln"), mlp_checkpoint(None, layers))
    x = fixture_inputs()
    with torch.no_grad():
        logits32 = model(x)
        logits64 = model.to(torch.float64)(x.to(torch.float64))
    lines = ["# scripts/torch_weights.py fixture, torch " + torch.__version__,
             "# torch.manual_seed(2024); nn.Sequential(Linear(12, 8), ReLU(), Linear(8, 5))",
             "# name count values (float.hex, exact); x is float32, logits64 from the same",
             "# float32 weights computed in float64"]
    for name, tensor in (("x", x), ("logits32", logits32), ("logits64", logits64)):
        values = [float(v).hex() for v in tensor.flatten().tolist()]
        lines.append(f"{name} {len(values)} " + " ".join(values))
    with open(os.path.join(out_dir, "torch_mlp_12_8_5.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out_dir}/torch_mlp_12_8_5.kiln and .txt")


def command_selftest(args):
    try:
        import torch
    except ImportError:
        # CI installs torch and sets KILN_REQUIRE_TORCH=1: there a skip would hide a failure.
        print("skipped: torch is not installed (apt-get install python3-torch)")
        return 1 if os.environ.get("KILN_REQUIRE_TORCH") == "1" else 77
    import tempfile
    failures = 0

    def check(condition, what):
        nonlocal failures
        print(("ok   " if condition else "FAIL ") + what)
        failures += not condition

    with tempfile.TemporaryDirectory() as tmp:
        for input_dims, sizes in (([784], [(784, 128), (128, 10)]),
                                  ([28, 28], [(784, 128), (128, 10)]),
                                  ([5], [(5, 7), (7, 3), (3, 2)])):
            torch.manual_seed(1)
            model = torch_mlp(sizes, torch.float32)
            pt, kiln_file, back = (os.path.join(tmp, n) for n in ("m.pt", "m.kiln", "b.pt"))
            torch.save(model.state_dict(), pt)
            dims = ["--input", "x".join(map(str, input_dims))]
            command_to_kiln([pt, kiln_file] + dims)
            command_to_torch([kiln_file, back])
            restored = torch.load(back, weights_only=True)
            # The keys of nn.Sequential mirroring kiln's network: a flatten first
            # (28x28) moves every key by one.
            shift = len(input_dims) - 1
            keys = [f"{int(k.split('.')[0]) + shift}.{k.split('.')[1]}"
                    for k in model.state_dict()]
            check(list(restored) == keys and
                  all(torch.equal(a, b) for a, b in zip(restored.values(),
                                                         model.state_dict().values())),
                  f"{sizes}: torch -> kiln -> torch is exact")
            with open(kiln_file, "rb") as f:
                original = f.read()
            header, _ = decode_checkpoint(original)
            check(header["signature"] == signature(input_dims, sizes), "signature")
            again = os.path.join(tmp, "again.kiln")
            command_to_kiln([back, again, "--like", kiln_file])
            with open(again, "rb") as f:
                check(f.read() == original, f"{sizes}: to-kiln --like gives the same file")
        # A NaN or an infinity is refused both ways, naming the tensor.
        torch.manual_seed(1)
        model = torch_mlp([(4, 3), (3, 2)], torch.float32)
        state = model.state_dict()
        state["2.bias"][1] = float("nan")
        pt, kiln_file = os.path.join(tmp, "nan.pt"), os.path.join(tmp, "nan.kiln")
        torch.save(state, pt)
        try:
            command_to_kiln([pt, kiln_file])
            check(False, "to-kiln refuses a NaN weight")
        except ValueError as error:
            check("linear layer 2's bias holds nan at index 1" in str(error),
                  f"to-kiln refuses a NaN weight ({error})")
        state = {k: v.to(torch.float64) for k, v in state.items()}
        state["2.bias"][1] = 1e300  # finite in float64, infinite as float32
        torch.save(state, pt)
        try:
            command_to_kiln([pt, kiln_file])
            check(False, "to-kiln refuses a weight that float32 makes infinite")
        except ValueError as error:
            check("holds inf" in str(error), f"to-kiln refuses 1e300 as float32 ({error})")
        layers = [([[0.5] * 4] * 3, [0.0] * 3), ([[float("inf")] * 3] * 2, [0.0] * 2)]
        with open(kiln_file, "wb") as f:
            f.write(mlp_checkpoint([4], layers))
        try:
            command_to_torch([kiln_file, pt])
            check(False, "to-torch refuses an infinite weight")
        except ValueError as error:
            check("holds inf" in str(error), f"to-torch refuses an infinite weight ({error})")
        # The committed fixture is what the script makes now.
        here = FIXTURE_DIR
        command_fixture([tmp])
        for name in ("torch_mlp_12_8_5.kiln", "torch_mlp_12_8_5.txt"):
            with open(os.path.join(tmp, name), "rb") as a, open(os.path.join(here, name),
                                                                "rb") as b:
                mine, committed = a.read(), b.read()
            if name.endswith(".txt"):
                same = fixture_text_matches(mine.decode(), committed.decode())
            else:
                same = mine == committed
            check(same, f"test/fixtures/{name} is up to date")
        check_tolerance(check)
        check_hostile_files(tmp, check)
    return 1 if failures else 0


def check_tolerance(check):
    """The fixture's comparison accepts what another BLAS changes (an ulp of the
    largest logit, wherever it lands) and nothing more."""
    with open(os.path.join(FIXTURE_DIR, "torch_mlp_12_8_5.txt")) as f:
        committed = f.read()
    lines = committed.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("logits32 "))
    fields = lines[row].split()
    values = [float.fromhex(v) for v in fields[2:]]
    smallest = min(range(len(values)), key=lambda i: abs(values[i]))
    largest = max(abs(v) for v in values)

    def with_change(change):
        changed = list(values)
        changed[smallest] += change
        return "\n".join(lines[:row] + [" ".join(fields[:2] + [v.hex() for v in changed])] +
                         lines[row + 1:]) + "\n"
    import math
    ulp = 2.0 ** (math.frexp(largest)[1] - 24)  # float32's unit in the last place of it
    check(fixture_text_matches(with_change(ulp), committed),
          "the fixture comparison accepts an ulp of the largest logit on the smallest one")
    check(not fixture_text_matches(with_change(1e-4), committed),
          "the fixture comparison refuses a change of 1e-4")


def check_hostile_files(tmp, check):
    """A .pt file that would run code is refused without running it; a FIFO given as
    input is refused, not waited on; a symbolic link planted at an output is
    replaced, not followed."""
    import pickle
    import signal
    import torch
    marker = os.path.join(tmp, "code_ran")

    class RunsCode:
        def __reduce__(self):
            return (open, (marker, "w"))

    like = os.path.join(tmp, "like.kiln")
    command_to_kiln_mlp(tmp, like)
    for legacy in (False, True):
        evil = os.path.join(tmp, "evil.pt")
        torch.save({"0.weight": torch.zeros(3, 5), "x": RunsCode()}, evil,
                   _use_new_zipfile_serialization=not legacy)
        refused = None
        try:
            command_to_kiln([evil, os.path.join(tmp, "out.kiln"), "--like", like])
        except ValueError as error:
            refused = str(error)
        check(refused is not None and "holds more than tensors" in refused and
              "io.open" in refused and not os.path.exists(marker),
              f"a {'legacy' if legacy else 'zip'} .pt file whose unpickling runs code is "
              f"refused, the code not run ({refused})")
    whole = os.path.join(tmp, "module.pt")
    torch.save(torch.nn.Linear(5, 3), whole)
    try:
        command_to_kiln([whole, os.path.join(tmp, "out.kiln"), "--like", like])
        refused = None
    except ValueError as error:
        refused = str(error)
    check(refused is not None and "save model.state_dict()" in refused,
          f"a whole nn.Module is refused, saying what to save instead ({refused})")

    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    signal.alarm(20)  # without the check, opening the FIFO waits for a writer
    for command, args, what in ((command_to_torch, [fifo, os.path.join(tmp, "o.pt")],
                                 "a kiln model file"),
                                (command_to_kiln, [fifo, os.path.join(tmp, "o.kiln")],
                                 "a PyTorch weights file"),
                                (command_to_kiln, [os.path.join(tmp, "m.pt"),
                                                   os.path.join(tmp, "o.kiln"), "--like", fifo],
                                 "a kiln model file")):
        try:
            command(args)
            refused = None
        except ValueError as error:
            refused = str(error)
        check(refused == f"{fifo}: is a FIFO (named pipe), not {what}",
              f"{command.__name__} refuses a FIFO given as {what} ({refused})")
    signal.alarm(0)

    victim = os.path.join(tmp, "victim")
    for command, source, name in ((command_to_torch, like, "linked.pt"),
                                  (command_to_kiln, os.path.join(tmp, "m.pt"), "linked.kiln")):
        with open(victim, "wb") as f:
            f.write(b"precious")
        target = os.path.join(tmp, name)
        os.symlink(victim, target)
        command([source, target] + (["--like", like] if command is command_to_kiln else []))
        with open(victim, "rb") as f:
            check(f.read() == b"precious" and not os.path.islink(target),
                  f"{command.__name__} replaces a link planted at its output, not its target")
        leftovers = [n for n in os.listdir(tmp) if ".tmp-" in n]
        check(not leftovers, f"{command.__name__} leaves no temporary file ({leftovers})")


def command_to_kiln_mlp(tmp, kiln_file):
    """A 5-3 MLP's kiln file, and its state_dict in tmp/m.pt."""
    import torch
    torch.manual_seed(3)
    pt = os.path.join(tmp, "m.pt")
    torch.save(torch_mlp([(5, 3)], torch.float32).state_dict(), pt)
    command_to_kiln([pt, kiln_file])


def fixture_text_matches(mine, committed):
    """The fixture's text, made again, matches the committed one: the same names,
    counts and inputs, and logits within a few units in the last place of the
    largest logit (another BLAS under torch, Debian's reference BLAS or OpenBLAS,
    sums the products in another order): 1e-6 of the largest magnitude in float32
    (8 ulps of it), 1e-13 in float64. Relative to the largest logit, not to each:
    an ulp lost in a sum that nearly cancels is large beside its small result. The
    first line names torch's version."""
    def rows(text):
        return [line.split() for line in text.splitlines()[1:] if not line.startswith("#")]
    tolerance = {"logits32": 1e-6, "logits64": 1e-13}
    mine_rows, committed_rows = rows(mine), rows(committed)
    if len(mine_rows) != len(committed_rows):
        return False
    for a, b in zip(mine_rows, committed_rows):
        if a[:2] != b[:2] or len(a) != len(b):
            return False
        if a[0] not in tolerance:
            if a != b:
                return False
            continue
        expected = [float.fromhex(y) for y in b[2:]]
        scale = max(map(abs, expected), default=0.0)
        for x, y in zip(map(float.fromhex, a[2:]), expected):
            if abs(x - y) > tolerance[a[0]] * scale:
                return False
    return True


def main(argv):
    commands = {"to-kiln": command_to_kiln, "to-torch": command_to_torch,
                "fixture": command_fixture, "selftest": command_selftest}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__)
        return 2
    try:
        return commands[argv[1]](argv[2:]) or 0
    except (ValueError, OSError) as error:
        print(f"torch_weights.py: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
