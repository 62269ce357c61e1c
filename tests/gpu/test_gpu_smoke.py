import edunn
from _compare import on_device


def test_a_tensor_round_trips_through_the_device(gpu):
    x = edunn.arange(6.0).reshape(2, 3)
    y = x.to(gpu)
    assert on_device(y, gpu)
    assert edunn.equal(y.cpu(), x)
