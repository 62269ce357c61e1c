import edunn


def test_a_tensor_round_trips_through_the_device(gpu):
    x = edunn.arange(6.0).reshape(2, 3)
    y = x.to(gpu)
    assert y.device.type == gpu
    assert edunn.equal(y.cpu(), x)
