"""Cost laws of the NPs: how many cycles a row of events costs an NP component.

This module is the seam between the simulator and the fitted physics.  A law is a function
``law(work: ComponentWork, P: dict) -> RowCost`` of what one NP component holds (its NP type,
the layer's hardware kind, filters, neurons, kernel taps, channels, bit widths) and the timing
constants ``P``; it returns the coefficients that :func:`nsoc.kernels.timing.layer_costs`
applies to every row of every frame:

* input row: ``events x cycles_per_event + synops x cycles_per_synop + cycles_per_row``
  (+ ``cycles_per_frame`` on a frame's first row); its external-memory weight fetch
  lasts ``fetched bytes x cycles_per_fetch_byte`` (the part longer than the compute stalls);
* output row: ``cycles_per_out_row + output events x cycles_per_out_event``.

``events`` are the non-zero inputs the component receives in the row (its own channels for a
depthwise layer; the dense pixel count for the HRC); ``synops`` the accumulations they cause
(events x kernel taps reached, x filters held for a standard convolution, x neurons held for a
dense layer).

The laws (fitted to the AKD1500's per-layer cycles, ``bench/calibration/README.md``): a CNP
spends ``cnp_event_cycles + cnp_filter_event_cycles x filters held`` per input event it receives
(kernel taps in parallel; a separable layer's pointwise part is event-driven too; an NP of a
band-split layer receives its band's rows and their halo), so a layer's time follows its input
events, plus ``cnp_weight_cycles`` per weight it holds once per frame; the HRC works per
output position and kernel tap over groups of ``hrc_filter_lanes`` filters, row by row as the
dense input streams in; an FNP2 fetches its whole weight matrix from external memory every
frame (``external_read_cycles_per_byte`` per byte as stored there); an FNP3 (a priori) works
per event and synaptic op.
Threshold-and-fire and event emission take no separate time (the data show no per-neuron
cost; an event's emission is in its consumer's per-event cost).

:data:`COST_LAWS` maps a hardware kind to its law; a law may read any key of ``P`` (new keys
go in ``nsoc/hardware/params/default.json`` with their unit and source).  :func:`program_cycles`
is the cost of loading a program (fixed + per byte), :func:`reprogram_cycles` the cost of
reprogramming a pass of a multi-pass model (HwPr: the chip reads the pass's program records
from external memory at the FNP2 weight-fetch rate).  The coefficients are computed once per
plan (they do not depend on the activations).
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
    ``external_bytes``: bytes the component reads from external memory every frame (an FNP2's
    weights as the mapping stores them there, ``mem_info`` external_size; 0 otherwise);
    ``in_rows`` / ``out_rows`` per frame; ``dense_macs``: dense MACs per frame (the HRC's input
    convolution, a separable layer's pointwise part); ``weights_held``: weights the component
    stores (:func:`weights_held`, a count whatever their bit width).
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
    external_bytes: float
    in_rows: int
    out_rows: int
    dense_macs: int
    weights_held: int = 0


class RowCost(NamedTuple):
    """Cycle coefficients of one NP component (see the module docstring)."""

    cycles_per_event: float = 0.0
    cycles_per_synop: float = 0.0
    cycles_per_row: float = 0.0
    cycles_per_fetch_byte: float = 0.0
    cycles_per_frame: float = 0.0
    cycles_per_out_row: float = 0.0
    cycles_per_out_event: float = 0.0


def _filter_groups(filters: int, P: dict) -> int:
    """Passes of the HRC over its filters: ``ceil(filters / hrc_filter_lanes)``."""
    lanes = max(int(P["hrc_filter_lanes"]), 1)
    return -(-max(int(filters), 1) // lanes)


def weights_held(kind: str, kernel_taps: int, in_channels: int, filters: int) -> int:
    """Weights a CNP component holding ``filters`` output channels stores: a standard
    convolution ``taps x input channels x filters``, a separable one its depthwise kernels of
    every input channel (each NP receives every channel) plus ``input channels x filters``
    pointwise weights, a depthwise one ``taps x filters``; 0 for any other kind."""
    if kind == "conv":
        return kernel_taps * in_channels * filters
    if kind == "sep":
        return kernel_taps * in_channels + in_channels * filters
    if kind == "dw":
        return kernel_taps * filters
    return 0


def cnp_law(w: ComponentWork, P: dict) -> RowCost:
    """CNP (standard, separable or depthwise convolution): each input event the NP receives is
    integrated into every filter it holds, all kernel taps at once: ``cnp_event_cycles +
    cnp_filter_event_cycles x filters`` per event (a depthwise event reaches one filter); a
    band-split layer's NP receives only its band's rows and their halo
    (:func:`~nsoc.hardware.timing.geometry.band_input_rows`, applied by the plan).  Once per
    frame the NP goes over the weights it holds: ``cnp_weight_cycles x weights held``
    (AKD1500: the global-pooling layers, few events and 65 K weights per NP, take about 65 K
    cycles more than their events).  Output events leave at ``output_event_cycles`` each."""
    per_event_filters = 1 if w.kind == "dw" else w.filters
    return RowCost(cycles_per_event=P["cnp_event_cycles"]
                   + P["cnp_filter_event_cycles"] * per_event_filters,
                   cycles_per_frame=P["cnp_weight_cycles"] * w.weights_held,
                   cycles_per_out_event=P["output_event_cycles"])


def fnp_law(w: ComponentWork, P: dict) -> RowCost:
    """FNP2 (weights in external memory): the whole weight matrix is fetched every frame,
    whatever the input events: ``fnp2_layer_cycles + external bytes x
    external_read_cycles_per_byte`` on the frame's first input row.  FNP3 (and a dense layer of
    another NP type): per event (``fnp_event_cycles``) and per synaptic op over
    ``fnp3_synops_per_cycle`` lanes."""
    if w.np_type == "FNP2":
        return RowCost(cycles_per_frame=P["fnp2_layer_cycles"]
                       + w.external_bytes * P["external_read_cycles_per_byte"],
                       cycles_per_out_event=P["output_event_cycles"])
    return RowCost(cycles_per_event=P["fnp_event_cycles"],
                   cycles_per_synop=1.0 / P["fnp3_synops_per_cycle"],
                   cycles_per_out_event=P["output_event_cycles"])


def hrc_law(w: ComponentWork, P: dict) -> RowCost:
    """HRC (input convolution on dense 8-bit rows), row by row as the input streams in: per
    output position ``hrc_tap_cycles`` per kernel tap (x input channels) per group of
    ``hrc_filter_lanes`` filters, plus ``hrc_filter_cycles`` per filter."""
    per_position = (P["hrc_tap_cycles"] * w.kernel_taps * w.in_channels
                    * _filter_groups(w.filters, P) + P["hrc_filter_cycles"] * w.filters)
    return RowCost(cycles_per_row=w.positions * per_position / max(w.in_rows, 1),
                   cycles_per_out_event=P["output_event_cycles"])


def forward_law(w: ComponentWork, P: dict) -> RowCost:
    """A layer without NP (Add, Concatenate) forwards its events at no NP cost."""
    return RowCost()


COST_LAWS: dict[str, Callable[[ComponentWork, dict], RowCost]] = {
    "conv": cnp_law, "dw": cnp_law, "sep": cnp_law, "fc": fnp_law, "hrc": hrc_law,
    "pass": forward_law}


def law_for(w: ComponentWork) -> Callable[[ComponentWork, dict], RowCost]:
    """The cost law of a component: by the layer's hardware kind; a stage without NP (a layer
    the mapping places on no NP) takes no NP time."""
    if w.np_type == "NONE":
        return forward_law
    return COST_LAWS[w.kind]


def coefficients(w: ComponentWork, P: dict) -> tuple[np.ndarray, np.ndarray]:
    """(input-row, output-row) coefficient vectors of a component in the column order of
    :data:`nsoc.kernels.timing.COEF_IN` / ``COEF_OUT``."""
    cost = law_for(w)(w, P)._asdict()
    return (np.array([cost[k] for k in COEF_IN], np.float64),
            np.array([cost[k] for k in COEF_OUT], np.float64))


def program_cycles(n_bytes: float, P: dict) -> float:
    """Cycles to load a program of ``n_bytes`` bytes through the configuration DMA:
    ``program_fixed_cycles + program_cycles_per_byte x n_bytes``."""
    return P["program_fixed_cycles"] + P["program_cycles_per_byte"] * float(n_bytes)


def reprogram_cycles(mode: str, n_nps: int, n_bytes: float, P: dict) -> float:
    """Cycles to reprogram one pass of a multi-pass model.

    HwPr: the chip's configuration DMA reads the pass's program records (``n_bytes``: its NPs'
    weights as stored in the program and their registers) from external memory, where the
    multi-pass program resides, at the rate an FNP2 reads its weights there:
    ``external_read_cycles_per_byte x n_bytes`` (one external-memory path; no fixed part: the
    AKD1500 HwPr rows leave none, bench/calibration/README.md).  Minimal / AllNps: the host
    reprograms the pass NP by NP (``host_reprogram_np_cycles`` per NP component)."""
    if mode == "HwPr":
        return P["external_read_cycles_per_byte"] * float(n_bytes)
    return P["host_reprogram_np_cycles"] * int(n_nps)
