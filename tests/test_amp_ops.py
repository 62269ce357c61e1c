"""Autocast per op, against torch's lists: every op of PyTorch's CPU autocast lists that edunn
has, run under ``autocast("cpu")`` (bfloat16 and float16) beside torch's, comparing the output
dtype, the values and the dtype of the gradients that reach float32 leaves; the CUDA lists as
data (PyTorch's docs, completed from its source) against edunn's policy table, and their
semantics checked by running the ops with the CUDA table (simulated on CPU tensors here, for
real in the ``device`` fixture's cuda branch, marked gpu)."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.amp import _policy, autocast
from opcheck import needs_torch, torch

if torch is not None:
    import torch.nn.functional as TF


def _cases(L, F_, leaves, low, device="cpu"):
    """name -> thunk.  ``T(*shape)`` is a float32 leaf (requires grad) fed to the op as is;
    ``B(*shape)`` the same leaf cast to ``low`` first (to see float32-list ops lift it)."""
    g = np.random.default_rng(0)

    def leaf(shape, scale=1.0, shift=0.0):
        a = (g.standard_normal(shape) * scale + shift).astype("float32")
        t = L.tensor(a, requires_grad=True, device=device)
        leaves.append(t)
        return t

    def T(*shape, **kw):
        return leaf(shape, **kw)

    def B(*shape, **kw):
        return leaf(shape, **kw).to(low)

    def I(*values):
        return L.tensor(list(values), device=device)

    def spd(n):
        a = leaf((n, n))
        return (a @ a.mT + 4 * L.eye(n, device=device)).to(low)

    return {
        # CPU lower precision (float32 in, autocast dtype out)
        "conv_tbc": lambda: F_.conv_tbc(T(5, 2, 3), T(3, 3, 4), T(4), 1),
        "prelu": lambda: F_.prelu(T(2, 3), T(1)),
        "linalg_vecdot": lambda: L.linalg.vecdot(T(3, 4), T(3, 4)),
        "scaled_dot_product_attention": lambda: F_.scaled_dot_product_attention(T(1, 2, 3, 4), T(1, 2, 3, 4), T(1, 2, 3, 4)),
        "chain_matmul": lambda: L.linalg.multi_dot([T(2, 3), T(3, 3), T(3, 2)]),
        "rnn_tanh_cell": lambda: F_.rnn.rnn_tanh_cell(T(2, 3), T(2, 4), T(4, 3), T(4, 4), T(4), T(4))
        if L is edunn else torch.rnn_tanh_cell(T(2, 3), T(2, 4), T(4, 3), T(4, 4), T(4), T(4)),
        "gru_cell": lambda: F_.rnn.gru_cell(T(2, 3), T(2, 4), T(12, 3), T(12, 4), T(12), T(12))
        if L is edunn else torch.gru_cell(T(2, 3), T(2, 4), T(12, 3), T(12, 4), T(12), T(12)),
        # CPU float32 (autocast dtype in, float32 out)
        "avg_pool3d": lambda: F_.avg_pool3d(B(1, 1, 4, 4, 4), 2),
        "max_pool3d": lambda: F_.max_pool3d(B(1, 1, 4, 4, 4), 2),
        "adaptive_avg_pool3d": lambda: F_.adaptive_avg_pool3d(B(1, 1, 4, 4, 4), 2),
        "adaptive_max_pool3d": lambda: F_.adaptive_max_pool3d(B(1, 1, 4, 4, 4), 2),
        "max_unpool2d": lambda: F_.max_unpool2d(*F_.max_pool2d(B(1, 1, 4, 4), 2, return_indices=True), 2),
        "max_unpool3d": lambda: F_.max_unpool3d(*F_.max_pool3d(B(1, 1, 4, 4, 4), 2, return_indices=True), 2),
        "fractional_max_pool2d": lambda: F_.fractional_max_pool2d(B(1, 1, 5, 5), 2, output_size=2,
                                                                  _random_samples=L.full((1, 1, 2), 0.5)),
        "reflection_pad1d": lambda: F_.pad(B(1, 2, 5), (1, 1), mode="reflect"),
        "reflection_pad2d": lambda: F_.pad(B(1, 2, 5, 5), (1, 1, 1, 1), mode="reflect"),
        "reflection_pad3d-not-listed": lambda: F_.pad(B(1, 1, 3, 3, 3), (1, 1, 1, 1, 1, 1), mode="reflect"),
        "replication_pad1d": lambda: F_.pad(B(1, 2, 5), (1, 1), mode="replicate"),
        "replication_pad3d": lambda: F_.pad(B(1, 1, 3, 3, 3), (1, 1, 1, 1, 1, 1), mode="replicate"),
        "circular_pad-not-listed": lambda: F_.pad(B(1, 2, 5), (1, 1), mode="circular"),
        "grid_sampler": lambda: F_.grid_sample(B(1, 1, 3, 3), T(1, 2, 2, 2, scale=0.5), align_corners=False),
        "prod": lambda: B(4).prod(), "prod-dim": lambda: L.prod(B(2, 3), 1),
        "quantile": lambda: L.quantile(B(7), 0.3), "nanquantile": lambda: B(7).nanquantile(0.6),
        "cdist": lambda: L.cdist(B(3, 2), B(4, 2)),
        "trace": lambda: L.trace(B(3, 3)),
        "cholesky": lambda: L.cholesky(spd(3)), "cholesky_inverse": lambda: L.cholesky_inverse(L.linalg.cholesky(spd(3).float()).to(low)),
        "cholesky_solve": lambda: L.cholesky_solve(B(3, 1), L.linalg.cholesky(spd(3).float()).to(low)),
        "inverse": lambda: L.inverse(spd(3)), "pinverse": lambda: L.pinverse(spd(3)),
        "orgqr": lambda: L.orgqr(*[t.to(low) for t in L.geqrf(spd(3).float())]),
        "ormqr": lambda: L.ormqr(*[t.to(low) for t in L.geqrf(spd(3).float())], B(3, 2)),
        "geqrf": lambda: L.geqrf(spd(3))[0],
        "qr": lambda: L.qr(spd(3))[1], "svd": lambda: L.svd(spd(3))[1],
        "triangular_solve": lambda: L.triangular_solve(B(3, 1), spd(3).triu())[0],
        "linalg_cond": lambda: L.linalg.cond(spd(3)), "linalg_matrix_rank": lambda: L.linalg.matrix_rank(spd(3)),
        "linalg_solve": lambda: L.linalg.solve(spd(3), B(3)), "linalg_cholesky": lambda: L.linalg.cholesky(spd(3)),
        "linalg_svdvals": lambda: L.linalg.svdvals(spd(3)), "linalg_eigvalsh": lambda: L.linalg.eigvalsh(spd(3)),
        "linalg_inv": lambda: L.linalg.inv(spd(3)), "linalg_inv_ex": lambda: L.linalg.inv_ex(spd(3))[0],
        "linalg_householder_product": lambda: L.linalg.householder_product(*[t.to(low) for t in L.geqrf(spd(3).float())]),
        "linalg_tensorinv": lambda: L.linalg.tensorinv(spd(4).reshape(2, 2, 4), 2),
        "linalg_tensorsolve": lambda: L.linalg.tensorsolve(spd(4), B(4)),
        "linalg_qr": lambda: L.linalg.qr(spd(3))[1], "linalg_cholesky_ex": lambda: L.linalg.cholesky_ex(spd(3))[0],
        "linalg_svd": lambda: L.linalg.svd(spd(3))[1], "linalg_eigh": lambda: L.linalg.eigh(spd(3))[0],
        "linalg_lstsq": lambda: L.linalg.lstsq(spd(3), B(3, 1)).solution,
        "nll_loss2d": lambda: F_.nll_loss(B(1, 3, 2, 2), L.zeros(1, 2, 2, dtype=L.int64)),
        "cosine_embedding_loss": lambda: F_.cosine_embedding_loss(B(2, 3), B(2, 3), I(1, -1)),
        "hinge_embedding_loss": lambda: F_.hinge_embedding_loss(B(4), I(1, -1, 1, -1)),
        "poisson_nll_loss": lambda: F_.poisson_nll_loss(B(4), T(4).abs()),
        "margin_ranking_loss": lambda: F_.margin_ranking_loss(B(3), B(3), I(1, -1, 1)),
        "soft_margin_loss": lambda: F_.soft_margin_loss(B(3), I(1, -1, 1)),
        "triplet_margin_loss": lambda: F_.triplet_margin_loss(B(2, 3), B(2, 3), B(2, 3)),
        "multi_margin_loss": lambda: F_.multi_margin_loss(B(2, 3), I(0, 2)),
        "multilabel_margin_loss": lambda: F_.multilabel_margin_loss(B(2, 3), L.tensor([[0, 2, -1], [1, -1, 0]])),
        "ctc_loss": lambda: F_.ctc_loss(B(5, 1, 3).log_softmax(2), L.tensor([[1, 2]]), [5], [2]),
        # CPU promote
        "cat": lambda: L.cat([B(2), T(2)]), "stack": lambda: L.stack([B(2), T(2)]),
        "cat-low": lambda: L.cat([B(2), B(3)]),
        "index_copy": lambda: T(3).index_copy(0, I(0), B(1)),
        # not on the CPU lists: must be left alone
        "exp-not-listed": lambda: B(3).exp(), "softmax-not-listed": lambda: B(2, 3).softmax(1),
        "layer_norm-not-listed": lambda: F_.layer_norm(B(2, 3), (3,)),
        "dot-not-listed": lambda: L.dot(T(3), T(3)),
    }


def _dtype_name(dtype):
    return str(dtype).split(".")[-1]


def _run(L, F_, name, low):
    leaves = []
    with L.autocast("cpu", dtype=low):
        out = _cases(L, F_, leaves, low)[name]()
    if out.dtype.is_floating_point and out.requires_grad:
        out.float().sum().backward()
    return out, leaves


CPU_NAMES = list(_cases(edunn, F, [], edunn.bfloat16))


@needs_torch
@pytest.mark.parametrize("low", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", CPU_NAMES)
def test_cpu_list_ops_like_torch(name, low):
    try:
        theirs, t_leaves = _run(torch, TF, name, getattr(torch, low))
    except (RuntimeError, NotImplementedError) as err:  # torch's CPU kernel lacks this dtype
        pytest.skip(f"torch: {str(err)[:80]}")
    ours, o_leaves = _run(edunn, F, name, getattr(edunn, low))
    assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype)
    ref = theirs.detach().double().numpy()
    np.testing.assert_allclose(ours.detach().double().numpy(), ref, rtol=5e-2, atol=5e-2 * (1 + np.abs(ref).max()))
    for o, t in zip(o_leaves, t_leaves):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert _dtype_name(o.grad.dtype) == _dtype_name(t.grad.dtype) == "float32"


def test_promote_rejects_a_third_floating_dtype():
    a, b = edunn.ones(2, dtype=edunn.bfloat16), edunn.ones(2, dtype=edunn.float32)
    with autocast("cpu", dtype=edunn.float16):
        with pytest.raises(RuntimeError, match="Unexpected floating ScalarType"):
            edunn.cat([a, b])
        assert edunn.cat([a.double(), b]).dtype == edunn.float64   # float64 is never touched


def test_explicit_out_or_dtype_is_not_autocast():
    x = edunn.ones(3, dtype=edunn.bfloat16)
    with autocast("cpu"):
        assert edunn.prod(x, dtype=edunn.bfloat16).dtype == edunn.bfloat16
        out = edunn.empty(3, dtype=edunn.bfloat16)
        edunn.cat([x[:1], x[1:]], out=out)
        assert out.dtype == edunn.bfloat16


# ---------------------------------------------------------------------------- the CUDA lists
# From https://pytorch.org/docs/stable/amp.html, "Autocast Op Reference" (torch 2.x), verbatim.
DOCS_CUDA_FLOAT16 = """__matmul__ addbmm addmm addmv addr baddbmm bmm chain_matmul multi_dot conv1d conv2d
conv3d conv_transpose1d conv_transpose2d conv_transpose3d GRUCell linear LSTMCell matmul mm mv prelu
RNNCell""".split()
DOCS_CUDA_FLOAT32 = """__pow__ __rdiv__ __rpow__ __rtruediv__ acos asin binary_cross_entropy_with_logits
cosh cosine_embedding_loss cdist cosine_similarity cross_entropy cumprod cumsum dist erfinv exp expm1
group_norm hinge_embedding_loss kl_div l1_loss layer_norm log log_softmax log10 log1p log2
margin_ranking_loss mse_loss multilabel_margin_loss multi_margin_loss nll_loss norm normalize pdist
poisson_nll_loss pow prod reciprocal rsqrt sinh smooth_l1_loss soft_margin_loss softmax softmin softplus
sum renorm tan triplet_margin_loss""".split()
DOCS_CUDA_PROMOTE = """addcdiv addcmul atan2 bilinear cross dot grid_sample index_put scatter_add
tensordot""".split()
# Only in torch's source (aten/src/ATen/autocast_mode.h, AT_FORALL_LOWER_PRECISION_FP / FP32 /
# FP32_SET_OPT_DTYPE / PROMOTE), under the edunn entry that asks.
SOURCE_CUDA_FLOAT16 = {"conv_tbc", "linalg_vecdot", "scaled_dot_product_attention", "einsum"}
SOURCE_CUDA_FLOAT32 = {"huber_loss", "nll_loss2d", "logsumexp", "interpolate", "linalg_vector_norm",
                       "linalg_matrix_norm"}
SOURCE_CUDA_PROMOTE = {"vdot", "cat", "stack"}
# docs name -> the name edunn's entry point asks with
EDUNN_NAME = {"__matmul__": "matmul", "GRUCell": "gru_cell", "LSTMCell": "lstm_cell", "__pow__": "pow",
              "__rpow__": "rpow", "__rdiv__": "rdiv", "__rtruediv__": "rtruediv", "grid_sample": "grid_sampler"}


def _edunn_names(names):
    out = {EDUNN_NAME.get(n, n) for n in names}
    if "RNNCell" in out:   # nn.RNNCell runs one of two cell functions, by nonlinearity
        out = (out - {"RNNCell"}) | {"rnn_tanh_cell", "rnn_relu_cell"}
    return out


def test_cuda_policy_table_is_torchs_list():
    assert _policy._LOWER_PRECISION["cuda"] == _edunn_names(DOCS_CUDA_FLOAT16) | SOURCE_CUDA_FLOAT16
    assert _policy._FLOAT32["cuda"] == _edunn_names(DOCS_CUDA_FLOAT32) | SOURCE_CUDA_FLOAT32
    assert _policy._PROMOTE["cuda"] == _edunn_names(DOCS_CUDA_PROMOTE) | SOURCE_CUDA_PROMOTE
    assert set(_policy._BANNED["cuda"]) == {"binary_cross_entropy"}


def _cuda_cases(L, F_, device):
    """(name, expected category, thunk) for the CUDA lists; inputs float32 for the float16 list,
    float16 for the float32 list, mixed for promote."""
    g = np.random.default_rng(3)

    def T(*shape, pos=False):
        a = g.standard_normal(shape).astype("float32")
        return L.tensor(np.abs(a) + 0.5 if pos else a, device=device)

    def H(*shape, pos=False):
        return T(*shape, pos=pos).half()

    y = L.tensor([0, 1], device=device)
    s = L.tensor([1.0, -1.0], device=device)
    low = [("mm", lambda: L.mm(T(2, 2), T(2, 2))), ("addmv", lambda: L.addmv(T(2), T(2, 2), T(2))),
           ("mv", lambda: L.mv(T(2, 2), T(2))), ("chain_matmul", lambda: L.chain_matmul(T(2, 2), T(2, 2))),
           ("multi_dot", lambda: L.linalg.multi_dot([T(2, 2), T(2, 2), T(2, 2)])),
           ("prelu", lambda: F_.prelu(T(2, 3), T(1))), ("conv_tbc", lambda: F_.conv_tbc(T(5, 2, 3), T(3, 3, 4), T(4))),
           ("gru_cell", lambda: F_.rnn.gru_cell(T(2, 3), T(2, 4), T(12, 3), T(12, 4), T(12), T(12))),
           ("lstm_cell", lambda: F_.rnn.lstm_cell(T(2, 3), (T(2, 4), T(2, 4)), T(16, 3), T(16, 4), T(16), T(16))[1]),
           ("rnn_tanh_cell", lambda: F_.rnn.rnn_tanh_cell(T(2, 3), T(2, 4), T(4, 3), T(4, 4), T(4), T(4))),
           ("scaled_dot_product_attention", lambda: F_.scaled_dot_product_attention(T(1, 2, 3), T(1, 2, 3), T(1, 2, 3)))]
    f32 = [("pow", lambda: H(3) ** 2), ("rpow", lambda: 2 ** H(3)), ("rtruediv", lambda: 2 / H(3, pos=True)),
           ("acos", lambda: (H(3) * 0.1).acos()), ("asin", lambda: (H(3) * 0.1).asin()), ("cosh", lambda: H(3).cosh()),
           ("sinh", lambda: H(3).sinh()), ("tan", lambda: H(3).tan()), ("exp", lambda: H(3).exp()),
           ("expm1", lambda: H(3).expm1()), ("log", lambda: H(3, pos=True).log()), ("log2", lambda: H(3, pos=True).log2()),
           ("log10", lambda: H(3, pos=True).log10()), ("log1p", lambda: H(3, pos=True).log1p()),
           ("reciprocal", lambda: H(3, pos=True).reciprocal()), ("rsqrt", lambda: H(3, pos=True).rsqrt()),
           ("erfinv", lambda: (H(3) * 0.1).erfinv()), ("softmax", lambda: H(2, 3).softmax(1)),
           ("log_softmax", lambda: F_.log_softmax(H(2, 3), 1)), ("softmin", lambda: F_.softmin(H(2, 3), 1)),
           ("sum", lambda: H(3).sum()), ("prod", lambda: H(3).prod()), ("cumsum", lambda: H(3).cumsum(0)),
           ("cumprod", lambda: H(3).cumprod(0)), ("norm", lambda: H(3).norm()),
           ("linalg_vector_norm", lambda: L.linalg.vector_norm(H(3))),
           ("linalg_matrix_norm", lambda: L.linalg.matrix_norm(H(3, 3))), ("logsumexp", lambda: H(3).logsumexp(0)),
           ("layer_norm", lambda: F_.layer_norm(H(2, 3), (3,))), ("group_norm", lambda: F_.group_norm(H(2, 4), 2)),
           ("normalize", lambda: F_.normalize(H(2, 3))), ("cosine_similarity", lambda: F_.cosine_similarity(H(2, 3), H(2, 3))),
           ("dist", lambda: L.dist(H(3), H(3))), ("cdist", lambda: L.cdist(H(2, 3), H(2, 3))),
           ("pdist", lambda: F_.pdist(H(3, 2))), ("renorm", lambda: H(2, 3).renorm(2, 0, 1)),
           ("softplus", lambda: F_.softplus(H(3))), ("interpolate", lambda: F_.interpolate(H(1, 1, 3), scale_factor=2)),
           ("cross_entropy", lambda: F_.cross_entropy(H(2, 3), y)), ("nll_loss", lambda: F_.nll_loss(H(2, 3), y)),
           ("mse_loss", lambda: F_.mse_loss(H(3), H(3))), ("l1_loss", lambda: F_.l1_loss(H(3), H(3))),
           ("huber_loss", lambda: F_.huber_loss(H(3), H(3))), ("smooth_l1_loss", lambda: F_.smooth_l1_loss(H(3), H(3))),
           ("kl_div", lambda: F_.kl_div(H(3), H(3, pos=True), reduction="sum")),
           ("binary_cross_entropy_with_logits", lambda: F_.binary_cross_entropy_with_logits(H(3), H(3, pos=True) * 0.1)),
           ("cosine_embedding_loss", lambda: F_.cosine_embedding_loss(H(2, 3), H(2, 3), s)),
           ("hinge_embedding_loss", lambda: F_.hinge_embedding_loss(H(2), s)),
           ("margin_ranking_loss", lambda: F_.margin_ranking_loss(H(2), H(2), s)),
           ("soft_margin_loss", lambda: F_.soft_margin_loss(H(2), s)),
           ("multi_margin_loss", lambda: F_.multi_margin_loss(H(2, 3), y)),
           ("multilabel_margin_loss", lambda: F_.multilabel_margin_loss(H(2, 3), L.tensor([[0, -1, 1], [2, -1, 0]], device=device))),
           ("triplet_margin_loss", lambda: F_.triplet_margin_loss(H(2, 3), H(2, 3), H(2, 3))),
           ("poisson_nll_loss", lambda: F_.poisson_nll_loss(H(3), H(3, pos=True)))]
    promote = [("addcdiv", lambda: L.addcdiv(H(3), H(3), T(3, pos=True))), ("addcmul", lambda: L.addcmul(H(3), H(3), T(3))),
               ("atan2", lambda: L.atan2(H(3), T(3))), ("bilinear", lambda: F_.bilinear(H(2, 3), T(2, 3), T(4, 3, 3))),
               ("cross", lambda: L.cross(H(2, 3), T(2, 3), dim=1)), ("dot", lambda: L.dot(H(3), T(3))),
               ("vdot", lambda: L.vdot(H(3), T(3))), ("tensordot", lambda: L.tensordot(H(2, 3), T(3, 2), 1)),
               ("grid_sampler", lambda: F_.grid_sample(H(1, 1, 3, 3), T(1, 2, 2, 2), align_corners=False)),
               ("index_put", lambda: L.index_put(H(3), (L.tensor([0], device=device),), T(1))),
               ("scatter_add", lambda: L.scatter_add(H(3), 0, L.tensor([0], device=device), T(1))),
               ("cat", lambda: L.cat([H(2), T(2)])), ("stack", lambda: L.stack([H(2), T(2)]))]
    return ([(n, "float16", f) for n, f in low] + [(n, "float32", f) for n, f in f32]
            + [(n, "float32", f) for n, f in promote])


CUDA_CASES = _cuda_cases(edunn, F, "cpu")


def test_cuda_cases_cover_the_list():
    covered = {n for n, _, _ in CUDA_CASES}
    wanted = _policy._LOWER_PRECISION["cuda"] | _policy._FLOAT32["cuda"] | _policy._PROMOTE["cuda"]
    # edunn has no addr, no rdiv (Python 3), no einsum/linear/conv/matmul/b*mm here: test_amp covers those
    skip = {"addr", "rdiv", "einsum", "linear", "matmul", "bmm", "addmm", "addbmm", "baddbmm", "conv1d", "conv2d",
            "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "rnn_relu_cell", "linalg_vecdot",
            "nll_loss2d"}  # nll_loss2d: edunn's nll_loss, covered
    assert wanted - skip <= covered


@pytest.fixture
def cuda_table_on_cpu(monkeypatch):
    """Run CPU tensors under the CUDA table (float16), to check the CUDA semantics without a GPU."""
    for table in (_policy._LOWER_PRECISION, _policy._FLOAT32, _policy._PROMOTE):
        monkeypatch.setitem(table, "cpu", table["cuda"])
    monkeypatch.setitem(_policy._BANNED, "cpu", _policy._BANNED["cuda"])


@pytest.mark.parametrize("name,expected,fn", CUDA_CASES, ids=[c[0] for c in CUDA_CASES])
def test_cuda_list_semantics_simulated_on_cpu(cuda_table_on_cpu, name, expected, fn):
    with autocast("cpu", dtype=edunn.float16):
        out = fn()
    assert _dtype_name(out.dtype) == expected, name


def test_cuda_bce_is_banned_simulated_on_cpu(cuda_table_on_cpu):
    with autocast("cpu", dtype=edunn.float16):
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(edunn.full((2,), 0.5), edunn.ones(2))


def test_cuda_list_semantics_on_device(device):
    if device == "cpu":
        pytest.skip("the cuda branch runs these for real; the CPU one is simulated above")
    for name, expected, fn in _cuda_cases(edunn, F, device):
        with autocast("cuda"):
            out = fn()
        assert _dtype_name(out.dtype) == expected, name
