"""Cost laws of the NPs: how many cycles a row of events costs an NP component.

This module is the seam between the simulator and the fitted physics.  A law is a function
``law(work: ComponentWork, P: dict) -> RowCost`` of what one NP component holds (its NP type,
the layer's hardware kind, filters, neurons, kernel taps, channels, bit widths) and the timing
constants ``P``; it returns the coefficients that :func:`nsoc.kernels.timing.layer_costs`
applies to every row of every frame:

* input row: ``events x cycles_per_event + synops x cycles_per_synop + cycles_per_row``
  (+ ``cycles_per_frame`` on a frame's first row); its external-memory weight fetch (FNP2)
  lasts ``fetched bytes x cycles_per_fetch_byte`` (the part longer than the compute stalls);
* output row: ``cycles_per_out_row + output events x cycles_per_out_event``.

``events`` are the non-zero inputs the component receives in the row (its own channels for a
depthwise layer; the dense pixel count for the HRC); ``synops`` the accumulations they cause
(events x kernel taps reached, x filters held for a standard convolution, x neurons held for a
dense layer; the separable pointwise part and the HRC's dense MACs are per-frame work in
``dense_macs``, spread over the output rows by the law).  So a layer's time follows its input
events through ``cycles_per_event`` and ``cycles_per_synop``.

:data:`COST_LAWS` maps a hardware kind to its law; a law may read any key of ``P`` (new keys
go in ``nsoc/hardware/params/default.json`` with their unit and source).  :func:`program_cycles`
is the cost of loading a program.  The coefficients are computed once per plan (they do not
depend on the activations).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ...kernels.timing import COEF_IN, COEF_OUT


class ComponentWork(NamedTuple):
    """What one NP component of a layer holds: the static inputs of a cost law.

    ``np_type``: HRC, CNP1, CNP2, FNP2, FNP3, or NONE (a layer without NP: Add, Concatenate);
    ``kind``: the layer's hardware kind (hrc, conv, dw, sep, fc, pass); ``filters``: output
    channels held; ``n_components``: NP components of the layer; ``neurons``: output neurons
    thresholded per frame (``positions`` x ``filters``; ``filters`` for a dense layer);
    ``positions``: convolution output positions per frame (before pooling; 1 for a dense
    layer); ``kernel_taps``: kx * ky; ``in_channels``; ``weight_bits`` / ``input_bits``;
    ``weight_bytes``: weights held (all taps, input channels and filters of the component);
    ``in_rows`` / ``out_rows`` per frame; ``dense_macs``: dense MACs per frame (the HRC's input
    convolution, a separable layer's pointwise part).
    """

    np_type: str
    kind: str
    filters: int
    n_components: int
    neurons: int
    positions: int
    kernel_taps: int
    in_channels: int
    weight_bits: int
    input_bits: int
    weight_bytes: float
    in_rows: int
    out_rows: int
    dense_macs: int


class RowCost(NamedTuple):
    """Cycle coefficients of one NP component (see the module docstring)."""

    cycles_per_event: float = 0.0
    cycles_per_synop: float = 0.0
    cycles_per_row: float = 0.0
    cycles_per_fetch_byte: float = 0.0
    cycles_per_frame: float = 0.0
    cycles_per_out_row: float = 0.0
    cycles_per_out_event: float = 0.0


def _fire_row(w: ComponentWork, P: dict) -> float:
    """Threshold-and-fire of a row: the component's neurons spread over its output rows."""
    return w.neurons / w.out_rows / P["fire_neurons_per_cycle"]


def cnp_law(w: ComponentWork, P: dict) -> RowCost:
    """CNP, standard or depthwise convolution: per event, per synaptic op at
    ``cnp_synops_per_cycle``, threshold-and-fire per output row, per output event."""
    return RowCost(cycles_per_event=P["cnp_event_cycles"],
                   cycles_per_synop=1.0 / P["cnp_synops_per_cycle"],
                   cycles_per_out_row=_fire_row(w, P),
                   cycles_per_out_event=P["output_event_cycles"])


def cnp_separable_law(w: ComponentWork, P: dict) -> RowCost:
    """CNP running a separable convolution: the depthwise part per event as :func:`cnp_law`,
    the pointwise part as dense MACs at ``cnp_pointwise_macs_per_cycle`` per output row."""
    base = cnp_law(w, P)
    return base._replace(cycles_per_out_row=_fire_row(w, P) + w.dense_macs / w.out_rows
                         / P["cnp_pointwise_macs_per_cycle"])


def fnp_law(w: ComponentWork, P: dict) -> RowCost:
    """FNP (dense layer): per event, per synaptic op over the NP's lanes
    (``fnp2_synops_per_cycle`` for an FNP2, else ``fnp3_synops_per_cycle``); an FNP2 fetches
    each event's weights from external memory at ``dma_external_bytes_per_cycle``."""
    lanes = P["fnp2_synops_per_cycle"] if w.np_type == "FNP2" else P["fnp3_synops_per_cycle"]
    return RowCost(cycles_per_event=P["fnp_event_cycles"], cycles_per_synop=1.0 / lanes,
                   cycles_per_fetch_byte=1.0 / P["dma_external_bytes_per_cycle"],
                   cycles_per_out_row=_fire_row(w, P),
                   cycles_per_out_event=P["output_event_cycles"])


def hrc_law(w: ComponentWork, P: dict) -> RowCost:
    """HRC (input convolution on dense 8-bit rows): ``hrc_row_cycles`` per input row, the
    dense MACs at ``hrc_macs_per_cycle`` per output row."""
    return RowCost(cycles_per_row=P["hrc_row_cycles"],
                   cycles_per_out_row=_fire_row(w, P) + w.dense_macs / w.out_rows
                   / P["hrc_macs_per_cycle"],
                   cycles_per_out_event=P["output_event_cycles"])


def forward_law(w: ComponentWork, P: dict) -> RowCost:
    """A layer without NP (Add, Concatenate) forwards its events at no NP cost."""
    return RowCost()


COST_LAWS: dict[str, Callable[[ComponentWork, dict], RowCost]] = {
    "conv": cnp_law, "dw": cnp_law, "sep": cnp_separable_law, "fc": fnp_law, "hrc": hrc_law,
    "pass": forward_law}


def law_for(w: ComponentWork) -> Callable[[ComponentWork, dict], RowCost]:
    """The cost law of a component: by the layer's hardware kind; a component without NP of
    a layer with neurons keeps the threshold-and-fire part."""
    if w.np_type == "NONE" and w.kind != "pass":
        return _fire_only_law
    return COST_LAWS[w.kind]


def _fire_only_law(w: ComponentWork, P: dict) -> RowCost:
    return RowCost(cycles_per_out_row=_fire_row(w, P) + (
        w.dense_macs / w.out_rows / P["hrc_macs_per_cycle"] if w.kind == "hrc" else
        w.dense_macs / w.out_rows / P["cnp_pointwise_macs_per_cycle"] if w.kind == "sep"
        else 0.0), cycles_per_out_event=P["output_event_cycles"])


def coefficients(w: ComponentWork, P: dict) -> tuple[np.ndarray, np.ndarray]:
    """(input-row, output-row) coefficient vectors of a component in the column order of
    :data:`nsoc.kernels.timing.COEF_IN` / ``COEF_OUT``."""
    cost = law_for(w)(w, P)._asdict()
    return (np.array([cost[k] for k in COEF_IN], np.float64),
            np.array([cost[k] for k in COEF_OUT], np.float64))


def program_cycles(n_bytes: int, P: dict) -> float:
    """Cycles to load a program of ``n_bytes`` bytes through the configuration DMA."""
    return n_bytes / P["dma_conf_bytes_per_cycle"]
