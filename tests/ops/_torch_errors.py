"""``same_error``: edunn raises what PyTorch raises -- the same exception type and message."""
import pytest


def same_error(ours, theirs, exact: bool = True):
    """Call both thunks; both must raise, with equal types and (``exact``) messages that start
    alike (edunn may add the shapes after PyTorch's sentence)."""
    with pytest.raises(Exception) as t_err:
        theirs()
    with pytest.raises(Exception) as o_err:
        ours()
    assert type(o_err.value).__name__ == type(t_err.value).__name__, (o_err.value, t_err.value)
    if exact:
        theirs_text = str(t_err.value).strip().split("\n")[0].strip()
        assert str(o_err.value).strip().startswith(theirs_text), (str(o_err.value), theirs_text)
