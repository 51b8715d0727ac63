"""Cycle-level simulation of a mapped model: events across the mesh, NP timing, latency, fps.

Model of the chip (constants in ``nsoc/hardware/params/*.json``, see
:func:`nsoc.hardware.parameters.timing_params`):

* Every NP component of a layer is a *stage* that streams its input row by row (axis 1 of the
  NHWC batch) and emits output rows.  What a row costs is given by the cost law of the
  component (:mod:`.costs`): cycles per input event, per synaptic op, per row, per fetched
  weight byte (FNP2, external memory: the part longer than the compute is a stall), per output
  row (threshold-and-fire, dense MACs) and per output event.  An output row is fired once the
  input rows it depends on are processed (a convolution's row window, pooling window, the whole
  frame for a dense layer or a global pooling, blocks of ``np_fire_block_rows``: :mod:`.geometry`).
* Output rows leave as one packet per destination node (``event_bits`` per event, one header
  flit) along XY routes (:mod:`nsoc.hardware.noc`) with per-hop router latency and link
  serialisation; a link serves packets first come first served.  The model input enters through
  the event-DMA channel, the output leaves through it.  A stage cannot emit a row while a
  consumer's input FIFO (``np_input_fifo_events``) is full: back-pressure, counted as stall.
* Frames follow each other through the same pipeline, so frames overlap in steady state.
  A model of several passes or hardware sequences runs them one after the other per frame and
  reprograms them (:func:`.costs.reprogram_cycles`: in HwPr mode the configuration DMA reads
  the pass's program records from external memory, otherwise the host reprograms NP by NP):
  every pass but the first in the first frame (the program is loaded before the inference,
  :func:`.costs.program_cycles`), every pass in the frames after it.

Modules: :mod:`.geometry` (row windows, kernel taps), :mod:`.plan` (the typed per-pass plan and
its cache), :mod:`.costs` (the NP cost laws: the seam for fitted physics), :mod:`.rows` (one
call's activations -> per-row costs and action counts), :mod:`.collect` (result records),
:mod:`.simulate` (orchestration), :mod:`.cuts` (per-layer cycles as BrainChip measures them:
cut-model differences).  The scheduler is :func:`nsoc.kernels.schedule.schedule`, proven
equal to its plain reference :func:`nsoc.kernels.schedule_reference.schedule_ref`.
"""
from __future__ import annotations

from ..parameters import TimingParamError, parse_timing_overrides, timing_params
from .costs import COST_LAWS, ComponentWork, RowCost, program_cycles, reprogram_cycles
from .cuts import CutCycles, attach_cut_cycles, cut_layer_cycles
from .simulate import CLOCK_MODES, simulate

__all__ = ["simulate", "timing_params", "parse_timing_overrides",
           "TimingParamError", "CLOCK_MODES", "COST_LAWS", "ComponentWork", "RowCost",
           "program_cycles", "reprogram_cycles", "cut_layer_cycles", "attach_cut_cycles",
           "CutCycles"]
