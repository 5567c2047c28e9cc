from paddler.agent import DeviceKind, backend_devices


def test_the_cpu_is_always_among_the_backend_devices() -> None:
    cpus = [device for device in backend_devices() if device.kind == DeviceKind.Cpu]

    assert len(cpus) == 1
    assert cpus[0].name == "CPU"
    assert cpus[0].memory_total > 0
