"""Fuzz the timing / energy / report path on random and zoo models (development tool).

Draws random Akida 1.0 / 2.0 models (:func:`nsoc.testing.random_v1_model` /
:func:`~nsoc.testing.random_v2_model`: convolutions, separable / depthwise, max and global
pooling, additions, concatenations, dense layers, 1-D and odd shapes, strides, bit widths),
takes the zoo entries (small builds) and the fixtures' ``.fbz``, maps each on every shipped
device of its version and a few custom meshes in the modes AllNps / Minimal / HwPr, simulates 1
and several frames, estimates energy and checks invariants:

* no exception but a documented refusal (``nsoc.errors.NsocError``: MappingError, InputError);
* latency, interval, energy finite and > 0; interval <= 1-frame latency (+ the reprogramming of
  the first pass in a multi-pass model, whose program is in place for the first frame only);
* F frames streamed take between 1x and Fx the 1-frame latency, at no less energy a frame;
* the 1-frame latency is at least the busiest NP's busy cycles and agrees with the closed-form
  law (longest chain of the layers' slowest-NP busy cycles, plus reprogramming) within
  ``--law-tol`` and 300 cycles a layer of NoC transfers.  The runs over it are NoC-bound: a
  layer spread over many nodes (AllNps) receives one packet per destination node per row, so
  the producer's (or the event DMA's) link carries its events once per node (the link width
  is an assumption, ``link_width_bits``): --seed 5 finds 38 of 2271 runs so (1.7 %), up
  to 6.7x (64 one-filter separable NPs on AKD1000 fed by the event DMA);
* each layer's span in frame 0 holds its busiest NP's busy cycles;
* the report writes (JSON, CSV, HTML) and reloads with the same figures;
* ``nsoc run --report`` on a saved ``.fbz`` works (every ``--cli-every`` th model);
* a sparser input profile is not slower; AllNps is not more than 2x slower than Minimal
  (without the reprogramming of passes 2.., which grows with the NPs, and when every layer
  keeps its NP type: AllNps may put a dense layer on an FNP2, whose fnp2_layer_cycles, 185 k
  a frame, a small layer on an FNP3 does not pay).

Usage::

    nice -n 19 python tools/fuzz_timing.py --draws 300 --seed 0 --out /tmp/fuzz.jsonl
    python tools/fuzz_timing.py --seed 1 --only 72 -v  # replay draw 100072

Each failure is one JSON line (draw seed, model spec, device, mode, check, message); the
summary counts failures by class (check + exception type + first words of the message).
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import traceback

import numpy as np

import nsoc
from nsoc import pipeline
from nsoc.errors import NsocError
from nsoc.testing import random_v1_model, random_v2_model

V1_DEVICES = ("AKD1000", "AKD1500", "TwoNodesIPv1", "custom:3,1,v1", "custom:12,2,v1")
V2_DEVICES = ("TwoNodesIPv2", "FourNodesIPv2", "SixNodesIPv2", "TwelveNodesIPv2",
              "custom:4,1,v2", "custom:10,3,1,v2")
MODES = ("AllNps", "Minimal", "HwPr")
FRAMES = 3


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout("timed out (dead-lock or runaway simulation?)")


# ----- random models --------------------------------------------------------------------------
def _shape(rng):
    """Input (x, y, c): the input convolutions take 1 or 3 channels and (on hardware) at
    least 5 rows and columns; a few 1-D shapes check the software fall-back's timing."""
    c = int(rng.choice([1, 3]))
    r = rng.random()
    if r < 0.08:   # 1-D: the input convolution runs in software
        n = int(rng.choice([16, 31, 64]))
        return (1, n, c) if rng.random() < 0.5 else (n, 1, c)
    if r < 0.25:   # audio-like: many frames of few coefficients
        return (int(rng.choice([20, 49, 62, 98])), int(rng.choice([5, 7, 10, 13])), 1)
    s = int(rng.choice([5, 7, 8, 9, 13, 16, 17, 24, 32, 33, 48]))
    s2 = s if rng.random() < 0.7 else int(rng.integers(5, 40))
    return (s, s2, c)


def draw_v2(rng):
    shape = _shape(rng)
    wb = int(rng.choice([2, 4, 8]))
    ab = int(rng.choice([1, 2, 4, 8]))
    f = int(rng.choice([4, 8, 16, 24, 32, 48, 64]))
    blocks = [("input_conv", dict(filters=f, kernel_size=int(rng.choice([1, 3, 5])),
                                  stride=int(rng.choice([1, 1, 2])),
                                  pool=rng.choice([None, None, "max"])))]
    ch = f
    for _ in range(int(rng.integers(1, 7))):
        kind = rng.choice(["conv", "conv", "dw", "add", "concat", "dense", "branches"],
                          p=[0.25, 0.1, 0.15, 0.15, 0.1, 0.1, 0.15])
        if kind == "conv":
            ch = int(rng.choice([4, 8, 16, 32, 64, 96, 128, 200]))
            blocks.append(("conv", dict(filters=ch, kernel_size=int(rng.choice([1, 3, 3, 5, 7])),
                                        stride=int(rng.choice([1, 1, 2])),
                                        pool=rng.choice([None, None, "max", "gap"]))))
        elif kind == "dw":
            blocks.append(("dw", dict(kernel_size=int(rng.choice([3, 5, 7])),
                                      stride=int(rng.choice([1, 2])))))
        elif kind == "add":
            blocks.append(("conv", dict(filters=ch, kernel_size=int(rng.choice([1, 3])))))
            blocks.append(("add", {}))
        elif kind == "concat":
            c2 = int(rng.choice([4, 8, 16]))
            blocks.append(("conv", dict(filters=c2, kernel_size=int(rng.choice([1, 3])))))
            blocks.append(("concat", {}))
            ch += c2
        elif kind == "branches":  # two branches from one layer, merged again
            merge = str(rng.choice(["add", "concat"]))
            c2 = ch if merge == "add" else int(rng.choice([4, 8, 16]))
            k1, k2 = int(rng.choice([1, 3, 5])), int(rng.choice([1, 3]))
            blocks.append(("conv", dict(filters=ch, kernel_size=k1)))
            second = "dw" if merge == "add" and rng.random() < 0.3 else "conv"
            blocks.append((second, dict(filters=c2, kernel_size=k2, from_block=2)
                           if second == "conv" else dict(kernel_size=3, from_block=2)))
            blocks.append((merge, {}))
            ch = ch + c2 if merge == "concat" else ch
        else:
            ch = int(rng.choice([8, 16, 32, 64, 128]))
            blocks.append(("dense", dict(units=ch)))
    last = rng.choice(["dense", "conv"])
    blocks.append((str(last), dict(units=int(rng.choice([2, 10, 33]))) if last == "dense"
                   else dict(filters=int(rng.choice([2, 10])), kernel_size=1)))
    return dict(version="v2", blocks=blocks, input_shape=shape, weight_bits=wb, act_bits=ab)


def draw_v1(rng):
    shape = _shape(rng)
    wb = int(rng.choice([1, 2, 4]))
    ab = int(rng.choice([1, 2, 4]))
    f = int(rng.choice([8, 16, 32, 64]))
    blocks = [("input_conv", dict(filters=f, kernel_size=int(rng.choice([1, 3, 5])),
                                  stride=int(rng.choice([1, 1, 2])),
                                  pool=rng.choice([None, None, "max"])))]
    for _ in range(int(rng.integers(1, 6))):
        kind = rng.choice(["conv", "sep", "dense"], p=[0.4, 0.45, 0.15])
        if kind == "dense":
            blocks.append(("dense", dict(units=int(rng.choice([8, 32, 100])))))
            continue
        k = int(rng.choice([1, 3, 5])) if kind == "conv" else int(rng.choice([3, 5, 7]))
        if rng.random() < 0.15:
            k = (int(rng.choice([1, 3])), int(rng.choice([3, 5])))
        blocks.append((str(kind), dict(filters=int(rng.choice([8, 16, 32, 64, 128, 256])),
                                       kernel_size=k, stride=int(rng.choice([1, 1, 2])),
                                       pool=rng.choice([None, None, "max", "gap"]))))
    blocks.append(("dense", dict(units=int(rng.choice([2, 10, 33])))))
    return dict(version="v1", blocks=blocks, input_shape=shape, weight_bits=wb, act_bits=ab)


def build(spec, seed):
    fn = random_v1_model if spec["version"] == "v1" else random_v2_model
    blocks = [(k, {kk: (None if vv is None else vv) for kk, vv in o.items()})
              for k, o in spec["blocks"]]
    return fn(blocks, tuple(spec["input_shape"]), weight_bits=spec["weight_bits"],
              act_bits=spec["act_bits"], seed=seed)


def _jsonable_spec(spec):
    return json.loads(json.dumps(spec, default=lambda o: o.item() if hasattr(o, "item")
                                 else str(o)))


# ----- zoo and fixtures -----------------------------------------------------------------------
ZOO_BUILDS = (("akidanet", dict(alpha=0.25, size=64, classes=10)),
              ("akidanet_vww", {}),
              ("dscnn_kws", {}),
              ("dscnn_kws", dict(frames=20, bins=7, filters=24, classes=5)),
              ("ecg1d", {}),
              ("mobilenet", dict(alpha=0.25, size=64, classes=10)),
              ("yolo", dict(alpha=0.25, size=64)))


def zoo_models():
    import nsoc.zoo
    names = {e.name for e in nsoc.zoo.entries()}
    for name, params in ZOO_BUILDS:
        if name not in names:
            continue
        for target in nsoc.zoo.get(name).targets:
            yield f"zoo:{name}:{target}:{params}", lambda n=name, t=target, p=params: \
                nsoc.zoo.build(n, target=t, **p)


def fixture_models(root):
    fx = os.path.join(root, "fixtures")
    for path in sorted(os.path.join(fx, f) for f in os.listdir(fx) if f.endswith(".fbz")):
        yield f"fixture:{os.path.basename(path)}", lambda p=path: nsoc.load(p)


# ----- checks ---------------------------------------------------------------------------------
def law_latency(timing, mapping, model):
    """Closed form: per pass, the longest chain of the layers' slowest-NP busy cycles (the
    layers of a frame run one after the other along the graph), plus the reprogramming the
    simulator counts (``reconfig_cycles`` less the first pass's, in place for frame 0)."""
    busy = {lay.name: lay.busy_cycles for lay in timing.layers}
    where = {lay.name: (lay.sequence, lay.pass_index) for lay in timing.layers}
    longest = {}
    for lay in model.layers:  # topological order
        if lay.name not in busy:
            continue
        prev = [longest[i] for i in lay.inbounds if i in longest and where.get(i) == where[
            lay.name]]
        longest[lay.name] = busy[lay.name] + (max(prev) if prev else 0.0)
    per_pass = collections.defaultdict(float)
    for name, v in longest.items():
        per_pass[where[name]] = max(per_pass[where[name]], v)
    return sum(per_pass.values())


def frame0_reprogram(model, mapping):
    """Reprogramming cycles in frame 0's latency: every hardware pass but the first (the
    simulator's own law, :func:`nsoc.hardware.timing.costs.reprogram_cycles`)."""
    from nsoc.hardware.parameters import timing_params, values
    from nsoc.hardware.timing.costs import reprogram_cycles
    from nsoc.hardware.timing.simulate import program_bytes
    P = values(timing_params(mapping.device, {}))
    passes = [(seq, p) for seq in mapping.sequences if seq.backend == "Hardware"
              for p in seq.passes]
    total = 0.0
    for seq, lms in passes[1:]:
        total += reprogram_cycles(mapping.mode, sum(len(lm.nps) for lm in lms),
                                  program_bytes(seq, lms, P, model), P)
    return total


class Checker:
    def __init__(self, args, out):
        self.args, self.out = args, out
        self.counts = collections.Counter()
        self.classes = collections.Counter()
        self.examples = {}
        self.runs = 0
        self.ratios = []

    def fail(self, ctx, check, msg):
        msg = str(msg).strip().splitlines()[-1] if str(msg).strip() else repr(msg)
        head = re.sub(r"\d+(\.\d+)?(e[+-]?\d+)?", "N", msg)[:90]
        cls = f"{check}: {head}"
        self.classes[cls] += 1
        self.examples.setdefault(cls, ctx)
        rec = dict(ctx, check=check, message=msg[:500])
        self.out.write(json.dumps(rec, default=str) + "\n")
        self.out.flush()
        if self.args.verbose:
            print("FAIL", rec, flush=True)

    def guarded(self, ctx, check, fn, *a, **k):
        signal.alarm(self.args.timeout)
        try:
            return fn(*a, **k), None
        except NsocError as exc:
            return None, exc
        except Timeout as exc:
            self.fail(ctx, check, f"Timeout: {exc}")
        except Exception as exc:  # noqa: BLE001 - the fuzzer reports every crash
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            self.fail(ctx, check, f"{type(exc).__name__} at {os.path.basename(tb.filename)}:"
                                  f"{tb.lineno}: {exc}")
        finally:
            signal.alarm(0)
        return None, "crash"

    def check_run(self, ctx, model, x, acts, mapping):
        """1-frame and F-frame runs on one mapping; returns the 1-frame latency or None."""
        opts = pipeline.SimOptions(device=mapping.device, mode=mapping.mode, frames=1)
        run1, err = self.guarded(ctx, "simulate-1", pipeline.simulate, model, x,
                                 opts, mapping=mapping, activations=acts)
        if run1 is None:
            if err not in (None, "crash"):
                self.fail(ctx, "simulate-1", f"{type(err).__name__} after mapping: {err}")
            return None
        self.runs += 1
        t, e = run1.timing, run1.energy
        lat, itv = t.latency_cycles, t.interval_cycles
        for name, v in (("latency", lat), ("interval", itv), ("fps", t.fps),
                        ("energy", e.energy_per_frame_uj), ("total_energy",
                                                            e.total_energy_per_frame_uj),
                        ("chip power", e.power_mw["chip"]), ("board power", e.power_mw["board"])):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                self.fail(ctx, "positive-finite", f"{name} = {v}")
        for k, v in e.energy_breakdown_uj.items():
            if not (math.isfinite(v) and v >= 0):
                self.fail(ctx, "positive-finite", f"energy breakdown {k} = {v}")
        # multi-pass: the first pass's program is in place for frame 0 only (upper bound:
        # the whole per-frame reprogramming)
        first_reprog = float(t.reconfig_cycles)
        if itv > lat + first_reprog + 1:
            self.fail(ctx, "interval<=latency", f"interval {itv} > latency {lat} "
                                                f"(reconfig {t.reconfig_cycles})")
        for lay in t.layers:
            if lay.end_cycle - lay.start_cycle < lay.busy_cycles - 1:
                self.fail(ctx, "layer-span>=busy", f"{lay.type} spans {lay.end_cycle} - "
                                                   f"{lay.start_cycle}, busy {lay.busy_cycles}")
        busiest = max((lay.busy_cycles for lay in t.layers), default=0)
        if busiest > lat + 1:
            self.fail(ctx, "latency>=busy", f"busiest layer {busiest} > latency {lat}")
        law_lo = law_latency(t, mapping, model) + frame0_reprogram(model, mapping)
        law_hi = law_lo
        if law_lo > 0:
            ratio = lat / law_hi
            self.ratios.append(ratio)
            # the NoC's transfers (router latency, link serialisation) come on top: a few
            # hundred cycles per layer
            slack = 300 * len(t.layers)
            if lat < law_lo * (1 - 0.01) - 1 or lat > law_hi * (1 + self.args.law_tol) + slack:
                self.fail(ctx, "law", f"latency {lat} vs closed-form {law_lo:.0f}.."
                                      f"{law_hi:.0f}: ratio {ratio:.3f}")
        optsF = opts.with_(stream_frames=FRAMES)
        runF, err = self.guarded(ctx, "simulate-F", pipeline.simulate, model, x, optsF,
                                 mapping=mapping, activations=acts)
        if runF is None:
            if err not in (None, "crash"):
                self.fail(ctx, "simulate-F", f"{type(err).__name__}: {err}")
            return lat
        tF = runF.timing
        if tF.latency_cycles != lat:
            self.fail(ctx, "latency-stable", f"latency {tF.latency_cycles} with {FRAMES} "
                                             f"frames streamed, {lat} alone")
        if not (lat - 1 <= tF.total_cycles <= FRAMES * lat + FRAMES * first_reprog + 1):
            self.fail(ctx, "multi-frame", f"{FRAMES} frames take {tF.total_cycles}, 1 frame "
                                          f"{lat}")
        if not (tF.interval_cycles > 0 and tF.fps > 0):
            self.fail(ctx, "positive-finite", f"{FRAMES}-frame interval {tF.interval_cycles}")
        eF = runF.energy.energy_per_frame_uj
        if not (math.isfinite(eF) and eF > 0):
            self.fail(ctx, "positive-finite", f"{FRAMES}-frame energy {eF}")
        # the same frame streamed: no action is cheaper a frame (a multi-pass model reloads
        # its first pass in the later frames)
        elif eF < e.energy_per_frame_uj * 0.98 - 1e-4:  # counts rounded over the frames
            self.fail(ctx, "stream-energy", f"{FRAMES} frames {eF:.6g} uJ a frame, 1 frame "
                                            f"{e.energy_per_frame_uj:.6g}")
        return lat, run1

    def check_report(self, ctx, run):
        from nsoc.report.writers import load_report
        with tempfile.TemporaryDirectory() as d:
            def go():
                paths = run.report.write(d)
                back = load_report(d)
                for key in ("fps", "latency_us", "energy_per_frame_uj"):
                    a, b = getattr(run.report, key), getattr(back, key)
                    if not math.isclose(a, b, rel_tol=1e-9):
                        raise AssertionError(f"report {key} {a} reloads as {b}")
                import csv
                with open(paths["csv"]) as f:
                    rows = list(csv.DictReader(f))
                if len(rows) != len(run.report["layers"]):
                    raise AssertionError(f"csv rows {len(rows)} != layers "
                                         f"{len(run.report['layers'])}")
                if os.path.getsize(paths["html"]) < 100:
                    raise AssertionError("html nearly empty")
                run.report.summary()
            _, err = self.guarded(ctx, "report", go)
            if err not in (None, "crash"):
                self.fail(ctx, "report", f"{type(err).__name__}: {err}")

    def check_cli(self, ctx, model, x, device, mode):
        with tempfile.TemporaryDirectory() as d:
            fbz, npy = os.path.join(d, "m.fbz"), os.path.join(d, "x.npy")
            model.save(fbz)
            np.save(npy, x)
            cmd = [sys.executable, "-m", "nsoc.cli", "run", fbz, "--input", npy, "--device",
                   device, "--mode", mode, "--report", os.path.join(d, "rep"),
                   "--timing-frames", "2", "-o", os.path.join(d, "out.npy")]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if p.returncode != 0:
                err = (p.stderr.strip().splitlines() or ["?"])[-1]
                if p.returncode == 2 and "rror" in err:  # a documented refusal
                    return
                self.fail(ctx, "cli", f"exit {p.returncode}: {err}")
            elif not os.path.isfile(os.path.join(d, "rep", "report.json")):
                self.fail(ctx, "cli", "no report.json written")

    def check_sparsity(self, ctx, model, x, acts, mapping):
        lats = []
        for sp in (0.5, 0.9):
            opts = pipeline.SimOptions(device=mapping.device, mode=mapping.mode, frames=1,
                                       sparsity=sp)
            run, err = self.guarded(ctx, "sparsity", pipeline.simulate, model, x, opts,
                                    mapping=mapping, activations=acts)
            if run is None:
                if err not in (None, "crash") and "no layer" not in str(err):
                    self.fail(ctx, "sparsity", f"{type(err).__name__}: {err}")
                return
            lats.append(run.timing.latency_cycles)
        if lats[1] > lats[0] * 1.02 + 50:
            self.fail(ctx, "sparser-not-slower", f"input sparsity 0.9 takes {lats[1]}, "
                                                 f"0.5 takes {lats[0]}")

    def model(self, label, spec, make, x_seed, index):
        ctx = dict(draw=label, spec=spec)
        model, err = self.guarded(ctx, "build", make)
        if model is None:
            self.counts["invalid model"] += 1
            return
        rng = np.random.default_rng(x_seed)
        shp = model.input_shape if hasattr(model, "input_shape") else None
        if shp is None:
            lay0 = model.layers[0]
            shp = tuple(lay0.input_dims) if hasattr(lay0, "input_dims") else lay0.output_dims
        signed = getattr(model.layers[0], "TYPE", "") == "InputData"
        x = (rng.integers(-128, 128, size=(FRAMES, *shp)) if signed else
             rng.integers(0, 256, size=(FRAMES, *shp))).astype(np.int8 if signed else np.uint8)
        acts, err = self.guarded(ctx, "forward", lambda: pipeline.forward_stage(
            model, x, pipeline.SimOptions(frames=1)))
        if acts is None:
            if err not in (None, "crash"):
                self.fail(ctx, "forward", f"{type(err).__name__}: {err}")
            return
        self.counts["models"] += 1
        devices = V1_DEVICES if model.ip_version == "v1" else V2_DEVICES
        did_cli = False
        for dev in devices:
            lat_mode, types_mode = {}, {}
            for mode in MODES:
                c = dict(ctx, device=dev, mode=mode)
                opts = pipeline.SimOptions(device=dev, mode=mode, frames=1)
                mapping, err = self.guarded(c, "map", pipeline.map_stage, model, opts)
                if mapping is None:
                    if err not in (None, "crash"):
                        self.counts["refused"] += 1
                        if not str(err).strip():
                            self.fail(c, "map", f"{type(err).__name__} with no message")
                    continue
                hw = [s for s in mapping.sequences if s.backend == "Hardware"]
                if not hw:
                    self.counts["software only"] += 1
                    continue
                self.counts["hardware runs"] += 1
                got = self.check_run(c, model, x[:1], acts, mapping)
                if not got:
                    continue
                lat, run1 = got
                # the reprogramming of passes 2.. grows with the NPs (host_reprogram_np_cycles
                # per NP, calibrated): a reason; compare the time without it
                lat_mode[mode] = lat - frame0_reprogram(model, mapping)
                types_mode[mode] = sorted((lay.name, tuple(lay.np_types)) for lay in
                                          run1.timing.layers)
                if mode == "AllNps":
                    self.check_sparsity(c, model, x[:1], acts, mapping)
                    if dev == devices[0] or index % 7 == 0:
                        self.check_report(c, run1)
                    if not did_cli and index % self.args.cli_every == 0:
                        did_cli = True
                        self.check_cli(c, model, x, dev, mode)
            # a reason: a layer on another NP type (AllNps may put a dense layer on an FNP2,
            # whose whole weight fetch costs fnp2_layer_cycles a frame, Minimal on an FNP3)
            if "AllNps" in lat_mode and "Minimal" in lat_mode and \
                    types_mode["AllNps"] == types_mode["Minimal"] and \
                    lat_mode["AllNps"] > 2 * lat_mode["Minimal"]:
                self.fail(dict(ctx, device=dev), "allnps<=2xminimal",
                          f"AllNps {lat_mode['AllNps']:.0f} > 2 x Minimal "
                          f"{lat_mode['Minimal']:.0f} (without reprogramming)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", type=int, help="replay one draw (its index)")
    ap.add_argument("--no-zoo", action="store_true")
    ap.add_argument("--out", default="/tmp/fuzz_timing.jsonl")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per simulation")
    ap.add_argument("--law-tol", type=float, default=0.5,
                    help="relative tolerance of latency vs the closed-form law")
    ap.add_argument("--cli-every", type=int, default=10)
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(args.out, "w") as out:
        ck = Checker(args, out)
        if args.only is None and not args.no_zoo:
            for i, (label, make) in enumerate([*fixture_models(root), *zoo_models()]):
                print(label, flush=True)
                ck.model(label, None, make, i, i)
        draws = [args.only] if args.only is not None else range(args.draws)
        for i in draws:
            seed = args.seed * 100000 + i
            rng = np.random.default_rng(seed)
            spec = draw_v1(rng) if rng.random() < 0.4 else draw_v2(rng)
            spec = _jsonable_spec(spec)
            ck.model(f"draw:{seed}", spec, lambda s=spec, sd=seed: build(s, sd), seed, i)
            if i % 10 == 0:
                print(f"draw {i}: {dict(ck.counts)}, failures {sum(ck.classes.values())}",
                      flush=True)
    print(json.dumps(dict(ck.counts), indent=1))
    if ck.ratios:
        r = np.array(ck.ratios)
        print(f"latency / closed-form law over {len(r)} runs: median {np.median(r):.3f}, "
              f"p5 {np.percentile(r, 5):.3f}, p95 {np.percentile(r, 95):.3f}, "
              f"min {r.min():.3f}, max {r.max():.3f}")
    print(f"{sum(ck.classes.values())} failures in {len(ck.classes)} classes "
          f"({ck.runs} simulated runs)")
    for cls, n in ck.classes.most_common():
        ex = ck.examples[cls]
        print(f"{n:5d}  {cls}\n       e.g. {ex.get('draw')} {ex.get('device', '')} "
              f"{ex.get('mode', '')}")
    return 1 if ck.classes else 0


if __name__ == "__main__":
    sys.exit(main())
