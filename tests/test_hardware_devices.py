"""Built-in device files, their validation, and custom meshes from create_device."""
import json

import pytest

from nsoc.errors import NsocError
from nsoc.hardware.device import (
    DeviceError,
    create_device,
    device_from_dict,
    device_to_dict,
    get_device,
    list_devices,
    np_type_counts,
)
from nsoc.hardware.types import Device, SramSize

# Published NP counts (../shared/reference/hardware.md): total, nodes, type combinations.
PUBLISHED = {
    "AKD1000": (78, 20, {"CNP1+CNP2": 54, "CNP1+FNP3": 18, "CNP1+FNP2": 4, "CNP1": 2}),
    "AKD1500": (32, 8, {"CNP1+CNP2": 21, "CNP1+FNP3": 7, "CNP1+FNP2": 1, "CNP1": 3}),
    "TwoNodesIPv1": (8, 2, {"CNP1+CNP2": 3, "CNP1": 3, "CNP1+FNP2": 1, "CNP1+FNP3": 1}),
    "TwoNodesIPv2": (8, 2, {"CNP1+CNP2": 3, "CNP1": 3, "CNP1+FNP2": 1, "CNP1+FNP3": 1}),
    "FourNodesIPv2": (16, 4, {"CNP1+CNP2+TNP_B": 9, "CNP1+TNP_B": 3, "CNP1+FNP3+TNP_B": 3,
                              "CNP1+FNP2+TNP_B": 1}),
    "SixNodesIPv2": (24, 6, {"CNP1+CNP2+TNP_B": 18, "CNP1+TNP_B": 3, "CNP1+FNP3+TNP_B": 2,
                             "CNP1+FNP2+TNP_B": 1}),
    "TwelveNodesIPv2": (48, 12, {"CNP1+CNP2+TNP_B": 41, "CNP1+TNP_B": 3, "CNP1+FNP3+TNP_B": 3,
                                 "CNP1+FNP2+TNP_B": 1}),
}


def test_builtin_device_list():
    assert set(list_devices()) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_builtin_device_counts(name):
    d = get_device(name)
    total, nodes, combos = PUBLISHED[name]
    assert isinstance(d, Device) and d.name == name
    assert len(d.mesh.nps) == total
    assert len(d.mesh.nodes) == nodes
    assert np_type_counts(d) == combos
    assert d.mesh.hrc is not None
    sram = d.mesh.np_sram_size
    if d.ip_version == "v1":
        assert (sram.input_bytes, sram.weight_bytes) == (43008, 44800)
        assert not d.mesh.skip_dmas
    else:
        assert (sram.input_bytes, sram.weight_bytes) == (65536, 51200)
        assert d.mesh.skip_dmas and all(n.has_lut for n in d.mesh.nps)
    assert isinstance(d.params, dict)
    # round trip through the file format
    again = device_from_dict(json.loads(json.dumps(device_to_dict(d))))
    assert again.mesh.nps == d.mesh.nps and again.mesh.hrc == d.mesh.hrc


def test_akd1000_layout():
    d = get_device("akd1000")  # case-insensitive
    m = d.mesh
    assert (m.dma_event.col, m.dma_event.row, m.dma_event.id) == (3, 1, 0)
    assert (m.dma_conf.col, m.dma_conf.row, m.dma_conf.id) == (3, 1, 1)
    dma_node = [n for n in m.nps if n.ident.node == (3, 1)]
    assert sorted(n.ident.id for n in dma_node) == [2, 3]
    assert all("FNP2" in n.types for n in m.nps if n.ident.node == (4, 1))


def test_get_device_copies_and_unknown():
    a, b = get_device("TwoNodesIPv2"), get_device("TwoNodesIPv2")
    a.params["x"] = 1
    assert "x" not in b.params
    with pytest.raises(DeviceError, match="unknown device 'NoSuch'.*AKD1000"):
        get_device("NoSuch")
    assert issubclass(DeviceError, NsocError)


@pytest.mark.parametrize("bad, message", [
    ({"name": "x"}, "missing key"),
    ({**device_to_dict(create_device(4, 0)), "ip_version": "v3"}, "ip_version"),
    ({**device_to_dict(create_device(4, 0)), "nps": []}, "at least one NP"),
    ({**device_to_dict(create_device(4, 0)),
      "nps": [{"ident": [1, 2, 0], "types": ["CNP1"]}] * 2}, "duplicate NP ident"),
    ({**device_to_dict(create_device(4, 0)),
      "nps": [{"ident": [1, 2, 0], "types": ["XNP"]}]}, "unknown NP type"),
    ({**device_to_dict(create_device(4, 0)),
      "nps": [{"ident": [1, -2, 0], "types": ["CNP1"]}]}, "non-negative"),
    ({**device_to_dict(create_device(4, 0)),
      "np_sram_size": {"input_bytes": 0, "weight_bytes": 5}}, "np_sram_size"),
])
def test_device_validation(bad, message):
    with pytest.raises(DeviceError, match=message):
        device_from_dict(bad)


@pytest.mark.parametrize("n_nodes", [1, 2, 3, 7, 16, 50, 128])
def test_create_device_sizes(n_nodes):
    nps = 4 * n_nodes
    d = create_device(nps - 3, 3, num_skip_dma_channel=6)
    assert len(d.mesh.nps) == nps and len(d.mesh.nodes) == n_nodes
    assert len({n.ident for n in d.mesh.nps}) == nps
    counts = {t: sum(t in n.types for n in d.mesh.nps) for t in ("CNP1", "FNP2", "FNP3", "TNP_B")}
    assert counts == {"CNP1": nps, "FNP2": 1, "FNP3": 2, "TNP_B": nps}
    assert sum(s.ident.channel for s in d.mesh.skip_dmas) == 6
    assert d.mesh.np_sram_size == SramSize(65536, 51200)


def test_create_device_options():
    d = create_device(5, 1, include_hrc=False, sram_size=(1000, 2000), ip_version="v1")
    assert d.ip_version == "v1" and d.mesh.hrc is None
    assert len(d.mesh.nps) == 8  # rounded up to whole nodes
    assert d.mesh.np_sram_size == SramSize(1000, 2000)
    assert not any("TNP_B" in n.types for n in d.mesh.nps)
    with pytest.raises(DeviceError, match="1 to 128 nodes"):
        create_device(4 * 128, 1)
    with pytest.raises(DeviceError, match="1 to 128 nodes"):
        create_device(0, 0)
    with pytest.raises(DeviceError, match="num_fnp"):
        create_device(4, -1)
    with pytest.raises(DeviceError, match="sram_size"):
        create_device(4, 0, sram_size="big")
